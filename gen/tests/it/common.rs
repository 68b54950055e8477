//! Helpers shared by the plan tests.

use thrum_gen::render::{self, Scratch};
use thrum_gen::Plan;
use thrum_gen::Timeline;

/// Every event line of `plan`, in replay order.
pub fn render_all(plan: &Plan) -> Vec<String> {
    let mut sc = Scratch::default();
    Timeline::new(plan)
        .map(|e| {
            let mut s = String::new();
            render::line(plan, &e, &mut s, &mut sc);
            s
        })
        .collect()
}
