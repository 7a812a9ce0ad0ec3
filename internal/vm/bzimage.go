package vm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// bzImageRelease reads the kernel release from an x86 bzImage's setup
// header (Documentation/arch/x86/boot.rst): "HdrS" at 0x202 marks a boot
// protocol header, and the 16-bit field at 0x20E points (from 0x200) at a
// NUL-terminated string that starts with the release, as in
// "6.1.0-47-amd64 (debian-kernel@lists.debian.org) #1 SMP ...".
func bzImageRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return "", fmt.Errorf("%s: not a bzImage: %w", path, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%s: not a bzImage (no HdrS boot header at 0x202)", path)
	}
	off := int64(hdr[0x20E]) | int64(hdr[0x20F])<<8
	if off == 0 {
		return "", fmt.Errorf("%s: the boot header names no kernel version", path)
	}
	buf := make([]byte, 256)
	n, err := f.ReadAt(buf, off+0x200)
	if n == 0 && err != nil {
		return "", fmt.Errorf("%s: kernel version string: %w", path, err)
	}
	s, _, ok := bytes.Cut(buf[:n], []byte{0})
	fields := strings.Fields(string(s))
	if !ok || len(fields) == 0 {
		return "", errors.New(path + ": the kernel version string is empty or unterminated")
	}
	return fields[0], nil
}
