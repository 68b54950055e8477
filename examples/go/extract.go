// Package thrumfixture opens a thrum-fixtures archive in a Go test.
//
// A test calls Extract with the path of a `.tar.gz` fixture written by
// `testgen --compression gzip`. Extract checks the archive against the
// SHA256SUMS file beside it, unpacks it into t.TempDir() refusing anything
// that could land outside that directory, checks every unpacked file against
// the manifest that describes the archive, and returns the path of the
// `.thrum` directory, ready to hand to the daemon.
//
// Standard library only.
package thrumfixture

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Limits bound what one archive may unpack to.
type Limits struct {
	// MaxEntries is the largest number of tar entries (files and directories).
	MaxEntries int
	// MaxBytes is the largest total size of the unpacked regular files.
	MaxBytes int64
}

// DefaultLimits is used by Extract. It is far above the `default` profile
// (about 160 entries, 30 MB unpacked) and still stops a runaway archive.
var DefaultLimits = Limits{MaxEntries: 100_000, MaxBytes: 8 << 30}

// Errors an archive is refused with; match them with errors.Is.
var (
	ErrUnsafePath = errors.New("unsafe entry path")
	ErrLinkEscape = errors.New("link points outside the extraction directory")
	ErrEntryType  = errors.New("entry is neither a regular file nor a directory")
	ErrDuplicate  = errors.New("entry written twice")
	ErrTooMany    = errors.New("too many entries")
	ErrTooLarge   = errors.New("unpacked size over the limit")
	ErrChecksum   = errors.New("checksum mismatch")
	ErrNotListed  = errors.New("not listed")
	ErrNoThrum    = errors.New("archive has no .thrum directory")
)

// Extract checks and unpacks the fixture archive at path into a fresh
// t.TempDir() and returns the path of its `.thrum` directory. Any problem
// ends the test with t.Fatal.
func Extract(t testing.TB, path string) string {
	t.Helper()
	return ExtractWith(t, path, DefaultLimits)
}

// ExtractWith is Extract with explicit limits.
func ExtractWith(t testing.TB, path string, lim Limits) string {
	t.Helper()
	dir := t.TempDir()
	thrum, err := ExtractTo(path, dir, lim)
	if err != nil {
		t.Fatalf("fixture %s: %v", path, err)
	}
	return thrum
}

// ExtractTo does the work of Extract without a testing.TB: it checks the
// archive at archivePath against SHA256SUMS and its manifest, unpacks it into
// dir (which should be empty) and returns the path of the `.thrum` directory.
func ExtractTo(archivePath, dir string, lim Limits) (string, error) {
	base := filepath.Base(archivePath)
	sums, err := readSums(filepath.Join(filepath.Dir(archivePath), "SHA256SUMS"))
	if err != nil {
		return "", err
	}
	if err := checkListed(sums, filepath.Dir(archivePath), base); err != nil {
		return "", err
	}
	man, err := findManifest(sums, filepath.Dir(archivePath), base)
	if err != nil {
		return "", err
	}

	f, err := os.Open(archivePath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	files, err := Unpack(f, dir, lim)
	if err != nil {
		return "", err
	}
	if err := checkFiles(man, dir, files); err != nil {
		return "", err
	}
	thrum := filepath.Join(dir, ".thrum")
	if st, err := os.Stat(thrum); err != nil || !st.IsDir() {
		return "", ErrNoThrum
	}
	return thrum, nil
}

// Unpack reads a gzip-compressed tar stream and writes its regular files and
// directories below dir. It refuses absolute paths, `..` components, links,
// devices and other special entries, a path written twice, and archives over
// the limits. It returns the slash-separated paths of the regular files it
// wrote. On error, dir may hold part of the archive.
func Unpack(r io.Reader, dir string, lim Limits) ([]string, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	seen := map[string]bool{}
	var files []string
	var total int64
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar: %w", err)
		}
		entries++
		if entries > lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d", ErrTooMany, lim.MaxEntries)
		}
		name, err := localName(hdr.Name)
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if name == "." {
				continue
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(name)), 0o755); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			if name == "." || seen[name] {
				return nil, fmt.Errorf("%w: %q", ErrDuplicate, hdr.Name)
			}
			seen[name] = true
			if hdr.Size < 0 || hdr.Size > lim.MaxBytes-total {
				return nil, fmt.Errorf("%w: %q would bring it over %d bytes", ErrTooLarge, hdr.Name, lim.MaxBytes)
			}
			total += hdr.Size
			if err := writeFile(dir, name, hdr, tr); err != nil {
				return nil, err
			}
			files = append(files, name)
		case tar.TypeSymlink, tar.TypeLink:
			if !linkInside(name, hdr.Linkname, hdr.Typeflag == tar.TypeSymlink) {
				return nil, fmt.Errorf("%w: %q -> %q", ErrLinkEscape, hdr.Name, hdr.Linkname)
			}
			return nil, fmt.Errorf("%w: %q is a link", ErrEntryType, hdr.Name)
		default:
			return nil, fmt.Errorf("%w: %q has type %q", ErrEntryType, hdr.Name, hdr.Typeflag)
		}
	}
	// Read to the end of the gzip stream so that its CRC and length are checked.
	if _, err := io.Copy(io.Discard, io.LimitReader(gz, 1<<20)); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return files, nil
}

// localName cleans a tar entry name and refuses one that is absolute, climbs
// with `..`, or is not a plain local path on this system.
func localName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
		}
	}
	clean := path.Clean(name)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	return clean, nil
}

// linkInside reports whether a link at name with the given target stays in
// the extraction directory (a symlink's target is relative to its own
// directory, a hard link's to the archive root).
func linkInside(name, target string, symlink bool) bool {
	if target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, "\\") {
		return false
	}
	joined := target
	if symlink {
		joined = path.Join(path.Dir(name), target)
	}
	return filepath.IsLocal(filepath.FromSlash(path.Clean(joined)))
}

func writeFile(dir, name string, hdr *tar.Header, r io.Reader) error {
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	// O_EXCL: never follow or replace something already there.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, hdr.Size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", hdr.Name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("tar: %q is truncated (%d of %d bytes)", hdr.Name, n, hdr.Size)
	}
	return nil
}

// readSums parses a file in `sha256sum` format into name -> lower-case hex.
func readSums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("the fixture's checksums: %w", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			continue
		}
		sum, name, ok := strings.Cut(text, " ")
		if !ok || len(sum) != 64 || len(name) < 2 || (name[0] != ' ' && name[0] != '*') {
			return nil, fmt.Errorf("%s line %d: not in sha256sum format", file, line)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("%s line %d: not in sha256sum format", file, line)
		}
		sums[name[1:]] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sums, nil
}

// checkListed checks the file name (relative to dir) against its SHA256SUMS line.
func checkListed(sums map[string]string, dir, name string) error {
	want, ok := sums[name]
	if !ok {
		return fmt.Errorf("%w: %s is not in %s", ErrNotListed, name, filepath.Join(dir, "SHA256SUMS"))
	}
	got, _, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: %s has sha256 %s, SHA256SUMS says %s", ErrChecksum, name, got, want)
	}
	return nil
}

func hashFile(file string) (string, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// manifest is the part of manifest.json that Extract checks.
type manifest struct {
	Archive fileEntry   `json:"archive"`
	Files   []fileEntry `json:"files"`
}

type fileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// findManifest returns the manifest listed in SHA256SUMS whose archive is
// the given file (`manifest.json` for `thrum-fixture.tar.gz`,
// `manifest-v5.json` for the v5 archive), after checking its own line.
func findManifest(sums map[string]string, dir, archive string) (*manifest, error) {
	var names []string
	for name := range sums {
		if !strings.Contains(name, "/") && strings.HasPrefix(name, "manifest") && strings.HasSuffix(name, ".json") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkListed(sums, dir, name); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var m manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m.Archive.Path == archive {
			return &m, nil
		}
	}
	return nil, fmt.Errorf("%w: no manifest listed in SHA256SUMS describes %s", ErrNotListed, archive)
}

// checkFiles checks that the unpacked regular files are exactly those of
// the manifest, each with its recorded size and sha256.
func checkFiles(m *manifest, dir string, files []string) error {
	unpacked := make(map[string]bool, len(files))
	for _, f := range files {
		unpacked[f] = true
	}
	for _, e := range m.Files {
		if !unpacked[e.Path] {
			return fmt.Errorf("%w: %s is in the manifest, not in the archive", ErrChecksum, e.Path)
		}
		delete(unpacked, e.Path)
		got, size, err := hashFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			return err
		}
		if size != e.Size || got != e.SHA256 {
			return fmt.Errorf("%w: %s is %d bytes with sha256 %s, the manifest says %d bytes with %s",
				ErrChecksum, e.Path, size, got, e.Size, e.SHA256)
		}
	}
	extra := make([]string, 0, len(unpacked))
	for f := range unpacked {
		extra = append(extra, f)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("%w: %s is in the archive, not in the manifest", ErrNotListed, extra[0])
	}
	return nil
}
