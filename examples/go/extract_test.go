package thrumfixture_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"thrumfixture"
)

// fixtureHint says how to provide the fixture; fixtures/ holds only the
// `.tar.zst` archives, which Go's standard library cannot read.
const fixtureHint = "set THRUM_FIXTURE to the thrum-fixture.tar.gz written by " +
	"`cargo run --release --bin testgen -- --compression gzip --out /tmp/fx-gz` " +
	"(THRUM_FIXTURE=/tmp/fx-gz/thrum-fixture.tar.gz); never write it into fixtures/, " +
	"which holds the committed .tar.zst fixture"

// fixturePath is the gzip fixture under test, $THRUM_FIXTURE. A test that
// needs it fails, never skips, when it is unset or missing.
func fixturePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("THRUM_FIXTURE")
	if p == "" {
		t.Fatalf("THRUM_FIXTURE is not set: %s", fixtureHint)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("THRUM_FIXTURE=%s: %v: %s", p, err, fixtureHint)
	}
	return p
}

// event is the envelope every JSONL line carries.
type event struct {
	Type         string `json:"type"`
	EventID      string `json:"event_id"`
	Sequence     int64  `json:"sequence"`
	Timestamp    string `json:"timestamp"`
	V            int    `json:"v"`
	OriginDaemon string `json:"origin_daemon"`
}

func readEvents(t *testing.T, file string, max int) []event {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []event
	for len(out) < max && sc.Scan() {
		var e event
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s line %d: %v", file, len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkEnvelope(t *testing.T, file string, events []event) {
	t.Helper()
	if len(events) == 0 {
		t.Fatalf("%s: no lines", file)
	}
	var last time.Time
	for i, e := range events {
		if !strings.HasPrefix(e.EventID, "evt_") || len(e.EventID) != 30 {
			t.Errorf("%s line %d: event_id %q is not evt_ + ULID", file, i+1, e.EventID)
		}
		if e.V != 1 || e.Type == "" || e.OriginDaemon == "" || e.Sequence <= 0 {
			t.Errorf("%s line %d: incomplete envelope %+v", file, i+1, e)
		}
		ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil {
			t.Errorf("%s line %d: %v", file, i+1, err)
			continue
		}
		// Go prints the timestamp back byte for byte (six digits, none trailing zero).
		if got := ts.UTC().Format(time.RFC3339Nano); got != e.Timestamp {
			t.Errorf("%s line %d: timestamp %q prints back as %q", file, i+1, e.Timestamp, got)
		}
		if i > 0 && e.Sequence <= events[i-1].Sequence {
			t.Errorf("%s line %d: sequence %d after %d", file, i+1, e.Sequence, events[i-1].Sequence)
		}
		if ts.Before(last) {
			t.Errorf("%s line %d: timestamp %s before the previous line's", file, i+1, e.Timestamp)
		}
		last = ts
	}
}

func TestFixture(t *testing.T) {
	thrum := thrumfixture.Extract(t, fixturePath(t))
	if filepath.Base(thrum) != ".thrum" {
		t.Fatalf("Extract returned %s, not a .thrum directory", thrum)
	}

	db, err := os.ReadFile(filepath.Join(thrum, "var", "messages.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(db, []byte("SQLite format 3\x00")) {
		t.Errorf("var/messages.db does not start with the SQLite header")
	}

	events := readEvents(t, filepath.Join(thrum, "events.jsonl"), 20)
	checkEnvelope(t, "events.jsonl", events)
	if events[0].Sequence != 1 {
		t.Errorf("events.jsonl starts at sequence %d, want 1", events[0].Sequence)
	}
	// a daemon's first start writes the everyone group and its role member
	// before anything else (docs/FORMAT.md section 10); then the agents register
	want := []string{"group.create", "group.member.add", "agent.register"}
	for i, typ := range want {
		if events[i].Type != typ {
			t.Errorf("events.jsonl line %d is %q, want %s", i+1, events[i].Type, typ)
		}
	}

	shards, err := filepath.Glob(filepath.Join(thrum, "messages", "*.jsonl"))
	if err != nil || len(shards) == 0 {
		t.Fatalf("no messages/*.jsonl (%v)", err)
	}
	msgs := readEvents(t, shards[0], 20)
	checkEnvelope(t, filepath.Base(shards[0]), msgs)
	if msgs[0].Type != "message.create" {
		t.Errorf("%s starts with %q, want message.create", shards[0], msgs[0].Type)
	}

	ids, err := os.ReadDir(filepath.Join(thrum, "identities"))
	if err != nil || len(ids) == 0 {
		t.Fatalf("identities/: %d files (%v)", len(ids), err)
	}
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(thrum, "identities", id.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var ident struct {
			Version int `json:"version"`
			Agent   struct {
				Name string
				Role string
			} `json:"agent"`
		}
		if err := json.Unmarshal(data, &ident); err != nil {
			t.Fatalf("identities/%s: %v", id.Name(), err)
		}
		if ident.Version != 2 || ident.Agent.Name == "" || ident.Agent.Role == "" {
			t.Errorf("identities/%s: %+v", id.Name(), ident)
		}
	}
}

// copyFixture copies the archive, SHA256SUMS and manifests to a new directory.
func copyFixture(t *testing.T, archive string) string {
	t.Helper()
	src := filepath.Dir(archive)
	dst := t.TempDir()
	names, err := filepath.Glob(filepath.Join(src, "manifest*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, archive, filepath.Join(src, "SHA256SUMS"))
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(n)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, filepath.Base(archive))
}

func TestFixtureChecksums(t *testing.T) {
	archive := copyFixture(t, fixturePath(t))

	t.Run("one byte changed", func(t *testing.T) {
		data, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), filepath.Base(archive))
		data[len(data)/2] ^= 1
		for _, n := range []string{"SHA256SUMS", "manifest.json"} {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(archive), n))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(bad), n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = thrumfixture.ExtractTo(bad, t.TempDir(), thrumfixture.DefaultLimits)
		if !errors.Is(err, thrumfixture.ErrChecksum) || !strings.Contains(err.Error(), "SHA256SUMS says") {
			t.Fatalf("got %v, want a SHA256SUMS mismatch", err)
		}
	})

	t.Run("manifest disagrees with a file", func(t *testing.T) {
		dir := filepath.Dir(copyFixture(t, archive))
		data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		files, _ := m["files"].([]any)
		first, _ := files[0].(map[string]any)
		path, _ := first["path"].(string)
		first["sha256"] = strings.Repeat("0", 64)
		data, err = json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		// SHA256SUMS follows the edited manifest, so only the file check can catch it.
		sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			if strings.HasSuffix(line, "  manifest.json") {
				line = fmt.Sprintf("%x  manifest.json", sha256.Sum256(data))
			}
			out = append(out, line)
		}
		if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = thrumfixture.ExtractTo(filepath.Join(dir, filepath.Base(archive)), t.TempDir(), thrumfixture.DefaultLimits)
		if !errors.Is(err, thrumfixture.ErrChecksum) || !strings.Contains(err.Error(), path+" is ") ||
			!strings.Contains(err.Error(), "the manifest says") {
			t.Fatalf("got %v, want a mismatch of %s", err, path)
		}
	})

	t.Run("no SHA256SUMS", func(t *testing.T) {
		if err := os.Remove(filepath.Join(filepath.Dir(archive), "SHA256SUMS")); err != nil {
			t.Fatal(err)
		}
		_, err := thrumfixture.ExtractTo(archive, t.TempDir(), thrumfixture.DefaultLimits)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "the fixture's checksums") {
			t.Fatalf("got %v, want a missing SHA256SUMS", err)
		}
		// Extract ends the test through Fatalf.
		ft := &fatalTB{TB: t}
		if got := thrumfixture.Extract(ft, archive); got != "" || !strings.Contains(ft.msg, "SHA256SUMS") {
			t.Fatalf("Extract returned %q and reported %q", got, ft.msg)
		}
	})
}

// fatalTB records Fatalf instead of stopping the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
}

func tarGz(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.linkname}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestUnpackAccepts(t *testing.T) {
	dir := t.TempDir()
	files, err := thrumfixture.Unpack(tarGz(t,
		entry{name: "./.thrum/", typ: tar.TypeDir},
		entry{name: "./.thrum/events.jsonl", typ: tar.TypeReg, body: "{}\n"},
		entry{name: ".thrum/var/messages.db", typ: tar.TypeReg, body: "db"},
	), dir, thrumfixture.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".thrum/events.jsonl", ".thrum/var/messages.db"}; !reflect.DeepEqual(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, ".thrum", "var", "messages.db"))
	if err != nil || string(got) != "db" {
		t.Fatalf("messages.db: %q, %v", got, err)
	}
}

func TestUnpackRefuses(t *testing.T) {
	small := thrumfixture.Limits{MaxEntries: 3, MaxBytes: 10}
	cases := []struct {
		name    string
		entries []entry
		lim     thrumfixture.Limits
		want    error
		msg     string
	}{
		{"parent directory", []entry{{name: "../evil", typ: tar.TypeReg, body: "x"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrUnsafePath, `unsafe entry path: "../evil"`},
		{"parent inside the path", []entry{{name: ".thrum/../../evil", typ: tar.TypeReg, body: "x"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrUnsafePath, `unsafe entry path: ".thrum/../../evil"`},
		{"absolute path", []entry{{name: "/tmp/evil", typ: tar.TypeReg, body: "x"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrUnsafePath, `unsafe entry path: "/tmp/evil"`},
		{"backslash", []entry{{name: `..\evil`, typ: tar.TypeReg, body: "x"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrUnsafePath, `unsafe entry path: "..\\evil"`},
		{"symlink escaping", []entry{{name: ".thrum/var", typ: tar.TypeSymlink, linkname: "../../outside"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrLinkEscape,
			`link points outside the extraction directory: ".thrum/var" -> "../../outside"`},
		{"absolute symlink", []entry{{name: ".thrum/passwd", typ: tar.TypeSymlink, linkname: "/etc/passwd"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrLinkEscape,
			`link points outside the extraction directory: ".thrum/passwd" -> "/etc/passwd"`},
		{"hard link escaping", []entry{{name: ".thrum/passwd", typ: tar.TypeLink, linkname: "../etc/passwd"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrLinkEscape,
			`link points outside the extraction directory: ".thrum/passwd" -> "../etc/passwd"`},
		{"symlink inside", []entry{{name: ".thrum/db", typ: tar.TypeSymlink, linkname: "var/messages.db"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrEntryType,
			`entry is neither a regular file nor a directory: ".thrum/db" is a link`},
		{"fifo", []entry{{name: ".thrum/pipe", typ: tar.TypeFifo}},
			thrumfixture.DefaultLimits, thrumfixture.ErrEntryType,
			`entry is neither a regular file nor a directory: ".thrum/pipe" has type '6'`},
		{"written twice", []entry{{name: ".thrum/a", typ: tar.TypeReg, body: "1"}, {name: "./.thrum/a", typ: tar.TypeReg, body: "2"}},
			thrumfixture.DefaultLimits, thrumfixture.ErrDuplicate, `entry written twice: "./.thrum/a"`},
		{"too many entries", []entry{{name: "a/", typ: tar.TypeDir}, {name: "b/", typ: tar.TypeDir}, {name: "c/", typ: tar.TypeDir}, {name: "d/", typ: tar.TypeDir}},
			small, thrumfixture.ErrTooMany, "too many entries: more than 3"},
		{"too large", []entry{{name: "a", typ: tar.TypeReg, body: "123456"}, {name: "b", typ: tar.TypeReg, body: "123456"}},
			small, thrumfixture.ErrTooLarge, `unpacked size over the limit: "b" would bring it over 10 bytes`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "x", "y")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := thrumfixture.Unpack(tarGz(t, c.entries...), dir, c.lim)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Fatalf("got %v, want %q", err, c.msg)
			}
			// Nothing was written outside dir.
			for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(parent, "x", "evil"), filepath.Join(parent, "outside")} {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists (%v)", p, err)
				}
			}
		})
	}
}
