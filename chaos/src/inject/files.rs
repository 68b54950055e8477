//! Faults in the other files: identities, and the checksums beside the tree.

use super::Injection;
use crate::catalogue::Applied;
use crate::error::{CorruptContext, Result};
use serde_json::Value;

impl Injection {
    pub(super) fn identity_wrong_version(&mut self) -> Result<Applied> {
        let dir = self.thrum.join("identities");
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        if names.is_empty() {
            return Err(self.no_target("no identity file"));
        }
        let name = names[self.rng.below(names.len())].clone();
        let p = dir.join(&name);
        let text = std::fs::read_to_string(&p).ctx("read", &p)?;
        let new = if text.contains("\"version\": 2") {
            text.replacen("\"version\": 2", "\"version\": 3", 1)
        } else {
            let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&text) else {
                return Err(self.no_target("the identity file is not a JSON object"));
            };
            m.insert("version".into(), Value::from(3));
            serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default()
        };
        std::fs::write(&p, new).ctx("write", &p)?;
        let rel = format!(".thrum/identities/{name}");
        Ok(self.applied(rel.clone(), "\"version\": 2 -> 3".into()).at(rel, None).column("version"))
    }

    pub(super) fn checksum_mismatch(&mut self) -> Result<Applied> {
        // every regular file of the tree, by path
        let files: Vec<String> = thrum_io::record::file_sizes(&self.thrum)
            .ctx("list", &self.thrum)?
            .into_keys()
            .map(|rel| format!(".thrum/{rel}"))
            .collect();
        if files.is_empty() {
            return Err(self.no_target("the tree has no files"));
        }
        let k = self.rng.below(files.len());
        let mut out = String::new();
        let mut wrong = (String::new(), String::new());
        for (i, rel) in files.iter().enumerate() {
            let p = self.root.join(rel);
            let (mut sha, _) = thrum_io::hash::sha256_file(&p).ctx("hash", &p)?;
            if i == k {
                let good = sha.clone();
                let last = sha.pop().unwrap_or('0');
                sha.push(if last == '0' { '1' } else { '0' });
                wrong = (good, sha.clone());
            }
            out.push_str(&format!("{sha}  {rel}\n"));
        }
        let p = self.root.join("SHA256SUMS");
        std::fs::write(&p, out).ctx("write", &p)?;
        Ok(self
            .applied(
                "SHA256SUMS",
                format!("digest of {} written as {} (it is {})", files[k], wrong.1, wrong.0),
            )
            .at("SHA256SUMS", Some(k as u64 + 1))
            .key(format!("path={}", files[k])))
    }
}
