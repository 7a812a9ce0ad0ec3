package quirks

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/layerspec"
)

// renameLowerDirEmpty is rename-lower-dir without the contents: aufs
// copies an empty directory up and renames it, where overlayfs without
// redirect_dir refuses any lower directory, so the two cases differ
// (unionmount-testsuite tests them separately too).
func renameLowerDirEmpty() Quirk {
	return Quirk{
		ID:       "rename-lower-dir-empty",
		Title:    "rename(2) of an empty directory from a lower layer",
		Requires: "the directory moves to the new name (POSIX rename; EXDEV only across file systems)",
		Image:    oneLayer(layerspecDir("edir"), file("keep/a", 64, 4)),
		Probe: func(c *Container) (Outcome, error) {
			if err := unix.Rename(c.Path("edir"), c.Path("edir2")); err != nil {
				return Outcome{errnoName(err), false, "rename edir edir2: " + err.Error()}, nil
			}
			ns, err := names(c.Path("edir2"))
			if err != nil {
				return Outcome{}, err
			}
			ok := len(ns) == 0 && !exists(c.Path("edir"))
			obs, _ := verdict(ok, "renamed", "old name or entries remain")
			return Outcome{obs, ok, fmt.Sprintf("rename returned 0; edir2 entries %v, edir gone %v", ns, !exists(c.Path("edir")))}, nil
		},
	}
}

func renameLowerDir() Quirk {
	return Quirk{
		ID:       "rename-lower-dir",
		Title:    "rename(2) of a populated directory from a lower layer",
		Requires: "the directory and its contents move to the new name (POSIX rename; EXDEV only across file systems)",
		Image:    oneLayer(file("ldir/a", 64, 5), file("ldir/sub/b", 64, 6)),
		Probe: func(c *Container) (Outcome, error) {
			if err := unix.Rename(c.Path("ldir"), c.Path("ldir2")); err != nil {
				return Outcome{errnoName(err), false, "rename ldir ldir2: " + err.Error()}, nil
			}
			ok := exists(c.Path("ldir2/a")) && exists(c.Path("ldir2/sub/b")) && !exists(c.Path("ldir"))
			obs, _ := verdict(ok, "renamed", "contents lost")
			return Outcome{obs, ok, fmt.Sprintf("rename returned 0; ldir2/a present %v, ldir2/sub/b present %v, ldir gone %v",
				exists(c.Path("ldir2/a")), exists(c.Path("ldir2/sub/b")), !exists(c.Path("ldir")))}, nil
		},
	}
}

func renameUpperDir() Quirk {
	return Quirk{
		ID:       "rename-upper-dir",
		Title:    "rename(2) of a directory created in the container",
		Requires: "the directory moves to the new name (POSIX rename)",
		Image:    oneLayer(file("etc/os-release", 64, 7)),
		Probe: func(c *Container) (Outcome, error) {
			if err := unix.Mkdir(c.Path("udir"), 0o755); err != nil {
				return Outcome{}, sysErr("mkdir", "udir", err)
			}
			fd, err := open(c.Path("udir/f"), unix.O_CREAT|unix.O_WRONLY)
			if err != nil {
				return Outcome{}, err
			}
			unix.Close(fd)
			if err := unix.Rename(c.Path("udir"), c.Path("udir2")); err != nil {
				return Outcome{errnoName(err), false, "rename udir udir2: " + err.Error()}, nil
			}
			ok := exists(c.Path("udir2/f")) && !exists(c.Path("udir"))
			obs, _ := verdict(ok, "renamed", "contents lost")
			return Outcome{obs, ok, fmt.Sprintf("rename returned 0; udir2/f present %v", exists(c.Path("udir2/f")))}, nil
		},
	}
}

func renameLowerFile() Quirk {
	return Quirk{
		ID:       "rename-lower-file",
		Title:    "rename(2) of a file from a lower layer",
		Requires: "the same file (data, st_ino) under the new name (POSIX rename)",
		Image:    oneLayer(file(lowerFile, 4096, 8)),
		Probe: func(c *Container) (Outcome, error) {
			from, to := c.Path(lowerFile), c.Path("data/renamed")
			st0, err := lstat(from)
			if err != nil {
				return Outcome{}, err
			}
			data0, err := head(from, 64)
			if err != nil {
				return Outcome{}, err
			}
			if err := unix.Rename(from, to); err != nil {
				return Outcome{errnoName(err), false, "rename: " + err.Error()}, nil
			}
			st1, err := lstat(to)
			if err != nil {
				return Outcome{}, err
			}
			data1, err := head(to, 64)
			if err != nil {
				return Outcome{}, err
			}
			same := bytes.Equal(data0, data1)
			detail := fmt.Sprintf("st_ino %d -> %d, data kept %v, old name gone %v", st0.Ino, st1.Ino, same, !exists(from))
			switch {
			case !same || exists(from):
				return Outcome{"data wrong", false, detail}, nil
			case st0.Ino != st1.Ino:
				return Outcome{"st_ino changed", false, detail}, nil
			}
			return Outcome{"renamed", true, detail}, nil
		},
	}
}

func renameExchange() Quirk {
	return Quirk{
		ID:       "renameat2-exchange",
		Title:    "renameat2 RENAME_EXCHANGE of two lower files",
		Requires: "the two names swap atomically (Linux renameat2; ext4 and tmpfs support it)",
		Image:    oneLayer(file("x/a", 64, 9), file("x/b", 64, 10)),
		Probe: func(c *Container) (Outcome, error) {
			a, b := c.Path("x/a"), c.Path("x/b")
			da, err := head(a, 64)
			if err != nil {
				return Outcome{}, err
			}
			db, err := head(b, 64)
			if err != nil {
				return Outcome{}, err
			}
			if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
				return Outcome{errnoName(err), false, "renameat2 RENAME_EXCHANGE x/a x/b: " + err.Error()}, nil
			}
			na, err := head(a, 64)
			if err != nil {
				return Outcome{}, err
			}
			nb, err := head(b, 64)
			if err != nil {
				return Outcome{}, err
			}
			ok := bytes.Equal(na, db) && bytes.Equal(nb, da)
			obs, _ := verdict(ok, "exchanged", "not swapped")
			return Outcome{obs, ok, fmt.Sprintf("x/a now holds the old x/b: %v, x/b the old x/a: %v", bytes.Equal(na, db), bytes.Equal(nb, da))}, nil
		},
	}
}

func renameNoReplace() Quirk {
	return Quirk{
		ID:       "renameat2-noreplace",
		Title:    "renameat2 RENAME_NOREPLACE onto a lower file, then onto a free name",
		Requires: "EEXIST when the target exists (even only in a lower layer), success otherwise (Linux renameat2)",
		Image:    oneLayer(file("x/a", 64, 11), file("x/b", 64, 12)),
		Probe: func(c *Container) (Outcome, error) {
			a, b, free := c.Path("x/a"), c.Path("x/b"), c.Path("x/c")
			err1 := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE)
			detail := "onto x/b: " + errOrZero(err1)
			if err1 == nil {
				return Outcome{"replaced existing", false, detail}, nil
			}
			err2 := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, free, unix.RENAME_NOREPLACE)
			detail += "; onto free x/c: " + errOrZero(err2)
			switch {
			case err1 != unix.EEXIST:
				return Outcome{errnoName(err1), false, detail}, nil
			case err2 != nil:
				return Outcome{"EEXIST, then " + errnoName(err2), false, detail}, nil
			}
			return Outcome{"EEXIST, then renamed", true, detail}, nil
		},
	}
}

func errOrZero(err error) string {
	if err == nil {
		return "0"
	}
	return errnoName(err)
}

// hardlinkImage is a lower file with a second hard link to it.
func hardlinkImage() []*layerspec.Layer {
	return oneLayer(file("links/one", 4096, 13),
		layerspec.Entry{Path: "links/two", Kind: layerspec.Hardlink, Target: "links/one"})()
}

func hardlinkWrite() Quirk {
	return Quirk{
		ID:       "hardlink-write",
		Title:    "write through one hard link of a lower file, read through the other",
		Requires: "both names are the same file: the other link sees the write (POSIX link)",
		Image:    hardlinkImage,
		Probe: func(c *Container) (Outcome, error) {
			if err := overwrite(c.Path("links/one")); err != nil {
				return Outcome{}, err
			}
			other, err := head(c.Path("links/two"), len(marker))
			if err != nil {
				return Outcome{}, err
			}
			obs, ok := verdict(hasMarker(other), "other link sees it", "link broken")
			return Outcome{obs, ok, fmt.Sprintf("wrote %s through links/one; links/two reads %s", q(marker), q(other))}, nil
		},
	}
}

// hardlinkRemount is hardlink-write across an unmount: a union that keeps
// the two names one file only in memory (aufs's pseudo-links, unless
// auplink makes them real links before the unmount) splits them when the
// container is mounted again.
func hardlinkRemount() Quirk {
	return Quirk{
		ID:       "hardlink-remount",
		Title:    "write through one hard link of a lower file, unmount and mount again, read the other",
		Requires: "both names are still the same file: links belong to the file system, not to one mount of it (POSIX link)",
		Image:    hardlinkImage,
		Probe: func(c *Container) (Outcome, error) {
			if err := overwrite(c.Path("links/one")); err != nil {
				return Outcome{}, err
			}
			before, err := head(c.Path("links/two"), len(marker))
			if err != nil {
				return Outcome{}, err
			}
			if err := c.Remount(); err != nil {
				return Outcome{}, err
			}
			after, err := head(c.Path("links/two"), len(marker))
			if err != nil {
				return Outcome{}, err
			}
			a, err := lstat(c.Path("links/one"))
			if err != nil {
				return Outcome{}, err
			}
			b, err := lstat(c.Path("links/two"))
			if err != nil {
				return Outcome{}, err
			}
			detail := fmt.Sprintf("wrote %s through links/one; links/two read %s before the unmount, %s after; then one nlink %d ino %d, two nlink %d ino %d",
				q(marker), q(before), q(after), a.Nlink, a.Ino, b.Nlink, b.Ino)
			switch {
			case !hasMarker(before):
				return Outcome{"link broken before", false, detail}, nil
			case !hasMarker(after):
				return Outcome{"link broken by remount", false, detail}, nil
			case a.Ino != b.Ino:
				return Outcome{"data kept, inodes split", false, detail}, nil
			}
			return Outcome{"still one file", true, detail}, nil
		},
	}
}

func hardlinkCount() Quirk {
	return Quirk{
		ID:       "hardlink-count",
		Title:    "st_nlink and st_ino of two hard links after one is copied up",
		Requires: "both names keep st_nlink 2 and one st_ino (POSIX link)",
		Image:    hardlinkImage,
		Probe: func(c *Container) (Outcome, error) {
			one, two := c.Path("links/one"), c.Path("links/two")
			s1, err := lstat(one)
			if err != nil {
				return Outcome{}, err
			}
			if err := overwrite(one); err != nil {
				return Outcome{}, err
			}
			a, err := lstat(one)
			if err != nil {
				return Outcome{}, err
			}
			b, err := lstat(two)
			if err != nil {
				return Outcome{}, err
			}
			detail := fmt.Sprintf("before: nlink %d; after copy-up of one: one nlink %d ino %d, two nlink %d ino %d", s1.Nlink, a.Nlink, a.Ino, b.Nlink, b.Ino)
			switch {
			case a.Ino != b.Ino || a.Dev != b.Dev:
				return Outcome{fmt.Sprintf("split, nlink %d/%d", a.Nlink, b.Nlink), false, detail}, nil
			case a.Nlink != 2 || b.Nlink != 2:
				return Outcome{fmt.Sprintf("nlink %d/%d", a.Nlink, b.Nlink), false, detail}, nil
			}
			return Outcome{"nlink 2/2, one inode", true, detail}, nil
		},
	}
}

// whPrefix is aufs's whiteout prefix (AUFS_WH_PFX in linux/aufs_type.h).
const whPrefix = ".wh."

func whPrefixName() Quirk {
	return Quirk{
		ID:       "name-wh-prefix",
		Title:    "create a file whose name starts with .wh. (aufs's whiteout prefix)",
		Requires: "any name without / or NUL that fits NAME_MAX can be created (POSIX portable and other filenames)",
		Image:    oneLayer(file("n/a", 64, 26)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path("n/" + whPrefix + "x")
			fd, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return Outcome{errnoName(err), false, "open O_CREAT n/.wh.x: " + err.Error()}, nil
			}
			unix.Close(fd)
			ns, err := names(c.Path("n"))
			if err != nil {
				return Outcome{}, err
			}
			ok := slices.Contains(ns, whPrefix+"x") && slices.Contains(ns, "a")
			obs, _ := verdict(ok, "works", "created but hidden or hides")
			return Outcome{obs, ok, fmt.Sprintf("created n/.wh.x; n lists %v", ns)}, nil
		},
	}
}

func unlinkRecreate() Quirk {
	return Quirk{
		ID:       "unlink-recreate",
		Title:    "unlink(2) a lower file, then create the name again",
		Requires: "the name is gone after unlink and the new file is empty, with st_nlink 1 (POSIX unlink, open O_CREAT)",
		Image:    oneLayer(file(lowerFile, 4096, 14)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			if err := unix.Unlink(p); err != nil {
				return Outcome{"unlink " + errnoName(err), false, err.Error()}, nil
			}
			gone := !exists(p)
			fd, err := open(p, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR)
			if err != nil {
				return Outcome{"re-create " + errnoName(err), false, err.Error()}, nil
			}
			defer unix.Close(fd)
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				return Outcome{}, sysErr("fstat", p, err)
			}
			data, err := head(p, 64)
			if err != nil {
				return Outcome{}, err
			}
			ok := gone && st.Size == 0 && len(data) == 0 && st.Nlink == 1
			obs, _ := verdict(ok, "new empty file", "old data shows")
			return Outcome{obs, ok, fmt.Sprintf("gone after unlink %v; new file size %d, nlink %d, reads %d bytes", gone, st.Size, st.Nlink, len(data))}, nil
		},
	}
}

func rmdirMkdir() Quirk {
	return Quirk{
		ID:       "rmdir-mkdir",
		Title:    "empty and rmdir(2) a lower directory, then mkdir the name again",
		Requires: "the new directory is empty (POSIX mkdir)",
		Image:    oneLayer(file("ldir/a", 64, 15), file("ldir/b", 64, 16)),
		Probe: func(c *Container) (Outcome, error) {
			for _, n := range []string{"ldir/a", "ldir/b"} {
				if err := unix.Unlink(c.Path(n)); err != nil {
					return Outcome{}, sysErr("unlink", n, err)
				}
			}
			if err := unix.Rmdir(c.Path("ldir")); err != nil {
				return Outcome{"rmdir " + errnoName(err), false, err.Error()}, nil
			}
			if err := unix.Mkdir(c.Path("ldir"), 0o755); err != nil {
				return Outcome{"mkdir " + errnoName(err), false, err.Error()}, nil
			}
			ns, err := names(c.Path("ldir"))
			if err != nil {
				return Outcome{}, err
			}
			obs, ok := verdict(len(ns) == 0, "empty", "old entries show")
			return Outcome{obs, ok, fmt.Sprintf("entries of the new ldir: %v", ns)}, nil
		},
	}
}

func readdirDedup() Quirk {
	return Quirk{
		ID:       "readdir-dedup",
		Title:    "readdir of a directory merged from several layers",
		Requires: "each name once, the union of every layer and the container (POSIX readdir)",
		Image: func() []*layerspec.Layer {
			return []*layerspec.Layer{
				{Entries: []layerspec.Entry{file("m/x", 64, 17), file("m/y", 64, 18), file("m/d/one", 64, 19)}},
				{Entries: []layerspec.Entry{file("m/x", 64, 20), file("m/z", 64, 21), file("m/d/two", 64, 22)}},
			}
		},
		Probe: func(c *Container) (Outcome, error) {
			fd, err := open(c.Path("m/w"), unix.O_CREAT|unix.O_WRONLY)
			if err != nil {
				return Outcome{}, err
			}
			unix.Close(fd)
			got, err := rawNames(c.Path("m"))
			if err != nil {
				return Outcome{}, err
			}
			sub, err := rawNames(c.Path("m/d"))
			if err != nil {
				return Outcome{}, err
			}
			want := []string{"d", "w", "x", "y", "z"}
			ok := slices.Equal(got, want) && slices.Equal(sub, []string{"one", "two"})
			obs, _ := verdict(ok, "each name once", "duplicates or gaps")
			return Outcome{obs, ok, fmt.Sprintf("m: %s; m/d: %s", strings.Join(got, " "), strings.Join(sub, " "))}, nil
		},
	}
}

// opaqueTwice is a directory that two layers each emptied and refilled
// (rm -rf d && mkdir d in two Dockerfile steps): each re-creation is an
// opaque directory hiding everything below it, so only the newest layer's
// entries may show. A union that takes the lowest opaque marker it finds
// instead of the highest shows the entries of the layers in between.
func opaqueTwice() Quirk {
	return Quirk{
		ID:       "opaque-twice",
		Title:    "a directory emptied and refilled in two layers: readdir and lookup",
		Requires: "only the newest layer's entries: the directory is the one the image declares last (POSIX readdir, stat)",
		Image: func() []*layerspec.Layer {
			return []*layerspec.Layer{
				{Entries: []layerspec.Entry{file("o/a", 64, 27)}},
				{Entries: []layerspec.Entry{{Path: "o", Kind: layerspec.Opaque, Mode: 0o755}, file("o/b", 64, 28)}},
				{Entries: []layerspec.Entry{{Path: "o", Kind: layerspec.Opaque, Mode: 0o755}, file("o/c", 64, 29)}},
			}
		},
		Probe: func(c *Container) (Outcome, error) {
			got, err := rawNames(c.Path("o"))
			if err != nil {
				return Outcome{}, err
			}
			var shown []string
			for _, n := range []string{"a", "b", "c"} {
				if exists(c.Path("o/" + n)) {
					shown = append(shown, n)
				}
			}
			detail := fmt.Sprintf("readdir o: %s; stat finds: %s (layers: a, then opaque+b, then opaque+c)", strings.Join(got, " "), strings.Join(shown, " "))
			ok := slices.Equal(got, []string{"c"}) && slices.Equal(shown, []string{"c"})
			obs, _ := verdict(ok, "newest layer only", "older entries show")
			if !ok {
				obs = "shows " + strings.Join(shown, ",")
			}
			return Outcome{obs, ok, detail}, nil
		},
	}
}

// rawNames reads a directory with getdents64 and returns every name it
// returned (duplicates kept: os.ReadDir would hide none, but being explicit
// about the syscall is the point), sorted, without . and ..
func rawNames(dir string) ([]string, error) {
	ents, err := getdents(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.name)
	}
	slices.Sort(out)
	return out, nil
}

func readdirAfterDelete() Quirk {
	return Quirk{
		ID:       "readdir-after-delete",
		Title:    "an open directory after unlink of a lower entry and rewinddir",
		Requires: "after rewinddir, readdir reflects the directory's current state (POSIX rewinddir)",
		Image:    oneLayer(file("r/a", 64, 23), file("r/b", 64, 24), file("r/c", 64, 25)),
		Probe: func(c *Container) (Outcome, error) {
			dir := c.Path("r")
			fd, err := open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(fd)
			first, err := readFD(fd)
			if err != nil {
				return Outcome{}, sysErr("getdents", dir, err)
			}
			if err := unix.Unlink(c.Path("r/b")); err != nil {
				return Outcome{}, sysErr("unlink", "r/b", err)
			}
			if _, err := unix.Seek(fd, 0, 0); err != nil {
				return Outcome{}, sysErr("lseek", dir, err)
			}
			again, err := readFD(fd)
			if err != nil {
				return Outcome{}, sysErr("getdents", dir, err)
			}
			fresh, err := rawNames(dir)
			if err != nil {
				return Outcome{}, err
			}
			stale := slices.Contains(again, "b")
			detail := fmt.Sprintf("before: %v; same fd after unlink r/b and rewind: %v; new fd: %v", first, again, fresh)
			switch {
			case slices.Contains(fresh, "b"):
				return Outcome{"deleted name listed", false, detail}, nil
			case stale:
				return Outcome{"stale after rewind", false, detail}, nil
			}
			return Outcome{"name gone", true, detail}, nil
		},
	}
}
