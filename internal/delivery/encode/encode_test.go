package encode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/s2"
)

// samples covers empty, tiny, compressible and incompressible input larger
// than one Hadoop block.
func samples() map[string][]byte {
	rnd := rand.New(rand.NewSource(1))
	noise := make([]byte, 700_000)
	rnd.Read(noise)
	text := bytes.Repeat([]byte(`{"id":1,"name":"widget"}`+"\n"), 40_000)
	return map[string][]byte{"empty": {}, "tiny": []byte("x"), "text": text, "noise": noise}
}

func tool(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is needed to check the output independently: %v", path, err)
	}
	return path
}

func TestCompressGzipReadByGzipTool(t *testing.T) {
	gz := tool(t, "/usr/bin/gzip")
	for name, data := range samples() {
		out, err := Compress(GZIP, data, "")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(gz, "-dc")
		cmd.Stdin = bytes.NewReader(out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: gzip -d: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: gzip -d gave %d bytes, want %d", name, len(got), len(data))
		}
	}
}

func TestCompressZipReadByUnzipTool(t *testing.T) {
	uz := tool(t, "/usr/bin/unzip")
	dir := t.TempDir()
	for name, data := range samples() {
		out, err := Compress(ZIP, data, "stream-1-2024-01-01-00-00-00-uuid")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".zip")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		list, err := exec.Command(uz, "-Z1", path).Output()
		if err != nil {
			t.Fatalf("%s: unzip -Z1: %v", name, err)
		}
		if string(list) != "stream-1-2024-01-01-00-00-00-uuid\n" {
			t.Fatalf("%s: entries %q, want the one named entry", name, list)
		}
		got, err := exec.Command(uz, "-p", path, "stream-1-2024-01-01-00-00-00-uuid").Output()
		if err != nil {
			t.Fatalf("%s: unzip -p: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: unzip gave %d bytes, want %d", name, len(got), len(data))
		}
	}
}

// The writer uses github.com/golang/snappy; the reader is klauspost's s2.
func TestCompressSnappyFramed(t *testing.T) {
	for name, data := range samples() {
		out, err := Compress(Snappy, data, "")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, []byte("\xff\x06\x00\x00sNaPpY")) {
			t.Fatalf("%s: no snappy stream identifier: % x", name, out[:min(len(out), 10)])
		}
		got, err := io.ReadAll(s2.NewReader(bytes.NewReader(out)))
		if err != nil {
			t.Fatalf("%s: s2 reader: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: got %d bytes, want %d", name, len(got), len(data))
		}
	}
}

// readHadoopSnappy parses Hadoop's BlockCompressorStream layout and decodes
// the chunks with s2 (the writer uses github.com/golang/snappy).
func readHadoopSnappy(b []byte) ([]byte, error) {
	var out []byte
	u32 := func() (int, error) {
		if len(b) < 4 {
			return 0, fmt.Errorf("truncated length")
		}
		n := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		return n, nil
	}
	for len(b) > 0 {
		want, err := u32()
		if err != nil {
			return nil, err
		}
		if want > 256<<10 {
			return nil, fmt.Errorf("block of %d bytes exceeds Hadoop's 256 KiB buffer", want)
		}
		var block []byte
		for len(block) < want {
			n, err := u32()
			if err != nil {
				return nil, err
			}
			if n > len(b) {
				return nil, fmt.Errorf("chunk of %d bytes, %d left", n, len(b))
			}
			d, err := s2.Decode(nil, b[:n])
			if err != nil {
				return nil, err
			}
			b = b[n:]
			block = append(block, d...)
		}
		if len(block) != want {
			return nil, fmt.Errorf("block decoded to %d bytes, header says %d", len(block), want)
		}
		out = append(out, block...)
	}
	return out, nil
}

func TestCompressHadoopSnappy(t *testing.T) {
	for name, data := range samples() {
		out, err := Compress(HadoopSnappy, data, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readHadoopSnappy(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: got %d bytes, want %d", name, len(got), len(data))
		}
	}
	if out, _ := Compress(HadoopSnappy, nil, ""); string(out) != "\x00\x00\x00\x00" {
		t.Fatalf("empty input gave % x, want Hadoop's empty block", out)
	}
	out, _ := Compress(HadoopSnappy, make([]byte, 3*hadoopBlock+1), "")
	if first := binary.BigEndian.Uint32(out); first != hadoopBlock {
		t.Fatalf("first block holds %d bytes, want %d", first, hadoopBlock)
	}
}

func TestCompressUncompressedAndUnknown(t *testing.T) {
	data := []byte("abc")
	for _, f := range []string{"", Uncompressed} {
		out, err := Compress(f, data, "")
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("%q: %q %v", f, out, err)
		}
	}
	if _, err := Compress("BROTLI", data, ""); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestExtension(t *testing.T) {
	want := map[string]string{Uncompressed: "", "": "", GZIP: ".gz", ZIP: ".zip", Snappy: ".snappy", HadoopSnappy: ".hsnappy", ZSTD: ".zst", "gzip": "", "zstd": ""}
	for f, ext := range want {
		if got := Extension(f); got != ext {
			t.Errorf("Extension(%q) = %q, want %q", f, got, ext)
		}
	}
	if got := (&Converter{}).Extension(); got != ".parquet" {
		t.Errorf("Converter.Extension() = %q", got)
	}
}

// TestCompressZstdReadByZstdTool: the reference zstd tool decodes every
// sample, each non-empty output is one frame that declares a content
// checksum, and a damaged checksum makes the tool refuse it.
func TestCompressZstdReadByZstdTool(t *testing.T) {
	zs := tool(t, "/usr/bin/zstd")
	for name, data := range samples() {
		out, err := Compress(ZSTD, data, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(out) < 9 || !bytes.Equal(out[:4], []byte{0x28, 0xB5, 0x2F, 0xFD}) {
			t.Fatalf("%s: no zstd frame magic: % x", name, out[:min(len(out), 8)])
		}
		// The encoder gives empty input a 9-byte frame with no checksum.
		checked := len(data) > 0
		if fhd := out[4]; checked && fhd&0x04 == 0 {
			t.Fatalf("%s: frame header descriptor %08b lacks the content checksum flag", name, fhd)
		}
		cmd := exec.Command(zs, "-dc")
		cmd.Stdin = bytes.NewReader(out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: zstd -d: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: zstd -d gave %d bytes, want %d", name, len(got), len(data))
		}
		if !checked {
			continue
		}
		bad := bytes.Clone(out)
		bad[len(bad)-1] ^= 0xFF // the last 4 bytes are the checksum
		cmd = exec.Command(zs, "-dc")
		cmd.Stdin = bytes.NewReader(bad)
		if err := cmd.Run(); err == nil {
			t.Fatalf("%s: zstd accepted a damaged checksum", name)
		}
	}
}
