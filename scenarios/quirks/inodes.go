package quirks

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/layerspec"
)

func inoCopyUp() Quirk {
	return Quirk{
		ID:       "ino-copyup",
		Title:    "st_ino and st_dev of a lower file before and after copy-up",
		Requires: "a file keeps its st_dev/st_ino for its whole life (POSIX: they identify the file)",
		Image:    oneLayer(file(lowerFile, 4096, 30)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			before, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			if err := overwrite(p); err != nil {
				return Outcome{}, err
			}
			after, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			detail := fmt.Sprintf("dev:ino %s -> %s", devIno(before), devIno(after))
			switch {
			case before.Ino != after.Ino && before.Dev != after.Dev:
				return Outcome{"st_dev, st_ino change", false, detail}, nil
			case before.Ino != after.Ino:
				return Outcome{"st_ino changes", false, detail}, nil
			case before.Dev != after.Dev:
				return Outcome{"st_dev changes", false, detail}, nil
			}
			return Outcome{"kept", true, detail}, nil
		},
	}
}

func devIno(st unix.Stat_t) string {
	return fmt.Sprintf("%d:%d/%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
}

// treeImage is two layers of files and directories, for the probes that
// walk the whole merged tree.
func treeImage() []*layerspec.Layer {
	var l0, l1 []layerspec.Entry
	for i := range 4 {
		l0 = append(l0, file(fmt.Sprintf("t/a%d", i), 64, uint64(40+i)), file(fmt.Sprintf("t/s/a%d", i), 64, uint64(50+i)))
		l1 = append(l1, file(fmt.Sprintf("t/b%d", i), 64, uint64(60+i)), file(fmt.Sprintf("t/s/b%d", i), 64, uint64(70+i)))
	}
	return []*layerspec.Layer{{Entries: l0}, {Entries: l1}}
}

// churn gives the tree every kind of object: a copied-up lower file, a
// file and a directory created in the container.
func churn(c *Container) error {
	if err := overwrite(c.Path("t/a0")); err != nil {
		return err
	}
	if err := unix.Mkdir(c.Path("t/new"), 0o755); err != nil {
		return sysErr("mkdir", "t/new", err)
	}
	fd, err := open(c.Path("t/new/f"), unix.O_CREAT|unix.O_WRONLY)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

type object struct {
	path string
	st   unix.Stat_t
}

func walk(root string) ([]object, error) {
	var out []object
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := lstat(p)
		if err != nil {
			return err
		}
		out = append(out, object{p, st})
		return nil
	})
	return out, err
}

func inoUnique() Quirk {
	return Quirk{
		ID:       "ino-unique",
		Title:    "st_ino unique across layers, and d_ino equal to st_ino",
		Requires: "no two files of one file system share st_dev/st_ino, and readdir's d_ino is the file's st_ino (POSIX <dirent.h>)",
		Image:    treeImage,
		Probe: func(c *Container) (Outcome, error) {
			if err := churn(c); err != nil {
				return Outcome{}, err
			}
			objs, err := walk(c.Path("t"))
			if err != nil {
				return Outcome{}, err
			}
			seen := map[[2]uint64]string{}
			var dups []string
			for _, o := range objs {
				k := [2]uint64{o.st.Dev, o.st.Ino}
				if prev, ok := seen[k]; ok {
					dups = append(dups, rel(c, prev)+"="+rel(c, o.path))
				}
				seen[k] = o.path
			}
			var mismatch []string
			for _, o := range objs {
				if o.st.Mode&unix.S_IFMT != unix.S_IFDIR {
					continue
				}
				ents, err := getdents(o.path)
				if err != nil {
					return Outcome{}, err
				}
				for _, e := range ents {
					st, err := lstat(filepath.Join(o.path, e.name))
					if err != nil {
						return Outcome{}, err
					}
					if st.Ino != e.ino {
						mismatch = append(mismatch, fmt.Sprintf("%s d_ino %d st_ino %d", rel(c, filepath.Join(o.path, e.name)), e.ino, st.Ino))
					}
				}
			}
			detail := fmt.Sprintf("%d objects; duplicate st_dev/st_ino: %s; d_ino != st_ino: %s", len(objs), listOrNone(dups), listOrNone(mismatch))
			switch {
			case len(dups) > 0:
				return Outcome{fmt.Sprintf("%d duplicate inodes", len(dups)), false, detail}, nil
			case len(mismatch) > 0:
				return Outcome{fmt.Sprintf("%d d_ino != st_ino", len(mismatch)), false, detail}, nil
			}
			return Outcome{"unique, d_ino=st_ino", true, detail}, nil
		},
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	if len(l) > 4 {
		l = append(l[:4:4], fmt.Sprintf("... (%d in all)", len(l)))
	}
	return strings.Join(l, ", ")
}

func rel(c *Container, p string) string {
	r, err := filepath.Rel(c.Dir, p)
	if err != nil {
		return p
	}
	return r
}

func devUniform() Quirk {
	return Quirk{
		ID:       "dev-uniform",
		Title:    "one st_dev for every file and directory of the mount",
		Requires: "every object of one mounted file system reports the same st_dev (POSIX: st_dev identifies the file system)",
		Image:    treeImage,
		Probe: func(c *Container) (Outcome, error) {
			if err := churn(c); err != nil {
				return Outcome{}, err
			}
			objs, err := walk(c.Path("t"))
			if err != nil {
				return Outcome{}, err
			}
			byDev := map[uint64][]string{}
			for _, o := range objs {
				byDev[o.st.Dev] = append(byDev[o.st.Dev], rel(c, o.path))
			}
			var parts []string
			for dev, ps := range byDev {
				parts = append(parts, fmt.Sprintf("%d:%d for %d objects (e.g. %s)", unix.Major(dev), unix.Minor(dev), len(ps), ps[0]))
			}
			slices.Sort(parts)
			detail := strings.Join(parts, "; ")
			if len(byDev) > 1 {
				return Outcome{fmt.Sprintf("%d st_dev values", len(byDev)), false, detail}, nil
			}
			return Outcome{"one st_dev", true, detail}, nil
		},
	}
}

// fsNames names the statfs f_type magic numbers a merged view can report.
var fsNames = map[int64]string{
	0x794c7630: "overlay",
	0x65735546: "fuse",
	0x01021994: "tmpfs",
	0xef53:     "ext4",
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0x61756673: "aufs",
}

func fsName(t int64) string {
	if n, ok := fsNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", t)
}

func statfsMerged() Quirk {
	return Quirk{
		ID:       "statfs",
		Title:    "statfs(2) of the merged view: which file system it reports",
		Requires: "informational: POSIX statvfs only asks for the free space of the file system holding the path; recorded so that changes show",
		Image:    oneLayer(file(lowerFile, 64, 31)),
		Probe: func(c *Container) (Outcome, error) {
			var m, b unix.Statfs_t
			if err := unix.Statfs(c.Dir, &m); err != nil {
				return Outcome{}, sysErr("statfs", c.Dir, err)
			}
			if err := unix.Statfs(c.FS.Dir, &b); err != nil {
				return Outcome{}, sysErr("statfs", c.FS.Dir, err)
			}
			sameSpace := m.Blocks*uint64(m.Bsize) == b.Blocks*uint64(b.Bsize)
			space := "its own size"
			if sameSpace {
				space = "the backing fs's size"
			}
			return Outcome{fmt.Sprintf("%s, %s", fsName(int64(m.Type)), map[bool]string{true: "backing size", false: "own size"}[sameSpace]), true,
				fmt.Sprintf("f_type %s (0x%x), f_bsize %d, f_blocks %d (%s; backing %s has %d of %d), f_files %d, f_namelen %d, f_fsid %v",
					fsName(int64(m.Type)), m.Type, m.Bsize, m.Blocks, space, fsName(int64(b.Type)), b.Blocks, b.Bsize, m.Files, m.Namelen, m.Fsid.Val)}, nil
		},
	}
}
