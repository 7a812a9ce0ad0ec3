package quirks

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func textBusy() Quirk {
	return Quirk{
		ID:       "etxtbsy",
		Title:    "open(2) for writing of a lower executable that is running",
		Requires: "ETXTBSY while the file is being executed (POSIX open: [ETXTBSY] pure procedure file being executed)",
		Image:    oneLayer(file("etc/os-release", 64, 90)),
		Exec:     true,
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(ExecPath)
			// Start returns once the child has called execve (os/exec
			// waits for its close-on-exec pipe to close), and ETXTBSY
			// starts at execve: no race with the open below.
			cmd := exec.Command(p, "60")
			if err := cmd.Start(); err != nil {
				return Outcome{}, sysErr("exec", p, err)
			}
			c.Defer(func() error {
				cmd.Process.Kill()
				cmd.Wait() // killed: the exit status is not news
				return nil
			})
			fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
				return Outcome{"write open succeeds", false, "open O_WRONLY of the running program returned a descriptor (nothing was written)"}, nil
			}
			if errors.Is(err, unix.ETXTBSY) {
				return Outcome{"ETXTBSY", true, "open O_WRONLY of the running program: " + err.Error()}, nil
			}
			return Outcome{errnoName(err), false, "open O_WRONLY of the running program: " + err.Error()}, nil
		},
	}
}

func locksCopyUp() Quirk {
	return Quirk{
		ID:       "locks-copyup",
		Title:    "flock and OFD locks taken on a lower file, after its copy-up",
		Requires: "a lock belongs to the file: a conflicting lock through a new open of the same name is refused while it is held (POSIX fcntl; Linux flock)",
		Image:    oneLayer(file(lowerFile, 4096, 91)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			holder, err := open(p, unix.O_RDONLY)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(holder)
			if err := unix.Flock(holder, unix.LOCK_EX|unix.LOCK_NB); err != nil {
				return Outcome{"flock " + errnoName(err), false, err.Error()}, nil
			}
			// Open file description locks, not classic POSIX record locks:
			// those are per process, so this process could never see its
			// own lock conflict, and any close of the file would drop them.
			rd := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: 0, Len: 0}
			if err := unix.FcntlFlock(uintptr(holder), unix.F_OFD_SETLK, &rd); err != nil {
				return Outcome{"F_OFD_SETLK " + errnoName(err), false, err.Error()}, nil
			}
			if err := overwrite(p); err != nil {
				return Outcome{}, err
			}
			other, err := open(p, unix.O_RDWR)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(other)
			ferr := unix.Flock(other, unix.LOCK_EX|unix.LOCK_NB)
			flockHeld := errors.Is(ferr, unix.EWOULDBLOCK)
			wr := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
			if err := unix.FcntlFlock(uintptr(other), unix.F_OFD_GETLK, &wr); err != nil {
				return Outcome{"F_OFD_GETLK " + errnoName(err), false, err.Error()}, nil
			}
			ofdHeld := wr.Type != unix.F_UNLCK
			detail := fmt.Sprintf("after the copy-up, through a new descriptor: flock LOCK_EX|LOCK_NB -> %s; F_OFD_GETLK F_WRLCK finds a conflicting lock %v", errOrZero(ferr), ofdHeld)
			switch {
			case flockHeld && ofdHeld:
				return Outcome{"both still held", true, detail}, nil
			case flockHeld:
				return Outcome{"OFD lock lost", false, detail}, nil
			case ofdHeld:
				return Outcome{"flock lost", false, detail}, nil
			}
			return Outcome{"both locks lost", false, detail}, nil
		},
	}
}

func tmpfile() Quirk {
	return Quirk{
		ID:       "o-tmpfile",
		Title:    "O_TMPFILE in a lower directory, then linkat(2) it in",
		Requires: "an unnamed file that linkat gives a name, data intact (Linux open(2) O_TMPFILE; ext4, xfs, btrfs, tmpfs support it)",
		Image:    oneLayer(file("ldir/a", 64, 92)),
		Probe: func(c *Container) (Outcome, error) {
			fd, err := unix.Open(c.Path("ldir"), unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return Outcome{errnoName(err), false, "open O_TMPFILE in ldir: " + err.Error()}, nil
			}
			defer unix.Close(fd)
			if _, err := unix.Write(fd, marker); err != nil {
				return Outcome{}, sysErr("write", "O_TMPFILE", err)
			}
			name := c.Path("ldir/linked")
			if err := unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH); err != nil {
				return Outcome{"linkat " + errnoName(err), false, "linkat AT_EMPTY_PATH: " + err.Error()}, nil
			}
			got, err := head(name, len(marker))
			if err != nil {
				return Outcome{}, err
			}
			obs, ok := verdict(hasMarker(got), "works", "linked, data lost")
			return Outcome{obs, ok, fmt.Sprintf("O_TMPFILE opened, linked as ldir/linked, reads %s", q(got))}, nil
		},
	}
}

func mkfifo() Quirk {
	return Quirk{
		ID:       "mkfifo",
		Title:    "mkfifo(3) in a lower directory, then a write and a read through it",
		Requires: "a FIFO that carries data (POSIX mkfifo)",
		Image:    oneLayer(file("ldir/a", 64, 93)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path("ldir/fifo")
			if err := unix.Mkfifo(p, 0o600); err != nil {
				return Outcome{errnoName(err), false, "mkfifo: " + err.Error()}, nil
			}
			st, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			// O_RDWR on a FIFO is Linux's way to open both ends without
			// blocking for a peer.
			fd, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				return Outcome{"open " + errnoName(err), false, err.Error()}, nil
			}
			defer unix.Close(fd)
			if _, err := unix.Write(fd, marker); err != nil {
				return Outcome{"write " + errnoName(err), false, err.Error()}, nil
			}
			buf := make([]byte, 64)
			n, err := unix.Read(fd, buf)
			if err != nil {
				return Outcome{"read " + errnoName(err), false, err.Error()}, nil
			}
			ok := st.Mode&unix.S_IFMT == unix.S_IFIFO && hasMarker(buf[:n])
			obs, _ := verdict(ok, "works", "not a working FIFO")
			return Outcome{obs, ok, fmt.Sprintf("mode %o, read back %s", st.Mode, q(buf[:n]))}, nil
		},
	}
}

func mknodDevice() Quirk {
	return Quirk{
		ID:       "mknod",
		Title:    "mknod(2) of a character device (1,3) in a lower directory",
		Requires: "a device node with the given numbers (POSIX mknod, CAP_MKNOD)",
		Image:    oneLayer(file("ldir/a", 64, 94)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path("ldir/null")
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				return Outcome{errnoName(err), false, "mknod c 1 3: " + err.Error()}, nil
			}
			st, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			ok := st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3)
			obs, _ := verdict(ok, "works", "wrong node")
			return Outcome{obs, ok, fmt.Sprintf("mode %o rdev %d,%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))}, nil
		},
	}
}

func mknodWhiteout() Quirk {
	return Quirk{
		ID:       "mknod-0-0",
		Title:    "mknod(2) of a 0/0 character device, overlay's whiteout format",
		Requires: "a device node 0,0 that stat and readdir show like any other (POSIX mknod)",
		Image:    oneLayer(file("ldir/a", 64, 95)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path("ldir/zero")
			if err := unix.Mknod(p, unix.S_IFCHR|0o600, 0); err != nil {
				return Outcome{errnoName(err), false, "mknod c 0 0: " + err.Error()}, nil
			}
			var st unix.Stat_t
			serr := unix.Lstat(p, &st)
			ns, err := names(c.Path("ldir"))
			if err != nil {
				return Outcome{}, err
			}
			listed := strings.Contains(" "+strings.Join(ns, " ")+" ", " zero ")
			detail := fmt.Sprintf("mknod returned 0; lstat: %s; readdir lists it: %v", errOrZero(serr), listed)
			switch {
			case serr != nil && !listed:
				return Outcome{"node vanishes", false, detail}, nil
			case serr != nil || !listed:
				return Outcome{"half visible", false, detail}, nil
			}
			return Outcome{"works", true, detail + fmt.Sprintf("; mode %o rdev %d,%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))}, nil
		},
	}
}

func unixSocket() Quirk {
	return Quirk{
		ID:       "unix-socket",
		Title:    "bind(2) a unix socket in a lower directory and connect to it",
		Requires: "a socket file that connect(2) reaches (POSIX bind for AF_UNIX)",
		Image:    oneLayer(file("ldir/a", 64, 96)),
		Probe: func(c *Container) (Outcome, error) {
			// sun_path holds 108 bytes and the merged path is longer: go
			// through the directory's descriptor in /proc/self/fd.
			dfd, err := open(c.Path("ldir"), unix.O_RDONLY|unix.O_DIRECTORY)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(dfd)
			path := "/proc/self/fd/" + strconv.Itoa(dfd) + "/sock"
			srv, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return Outcome{}, sysErr("socket", "", err)
			}
			defer unix.Close(srv)
			if err := unix.Bind(srv, &unix.SockaddrUnix{Name: path}); err != nil {
				return Outcome{"bind " + errnoName(err), false, err.Error()}, nil
			}
			if err := unix.Listen(srv, 1); err != nil {
				return Outcome{"listen " + errnoName(err), false, err.Error()}, nil
			}
			cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return Outcome{}, sysErr("socket", "", err)
			}
			defer unix.Close(cl)
			if err := unix.Connect(cl, &unix.SockaddrUnix{Name: path}); err != nil {
				return Outcome{"connect " + errnoName(err), false, err.Error()}, nil
			}
			conn, _, err := unix.Accept4(srv, unix.SOCK_CLOEXEC)
			if err != nil {
				return Outcome{"accept " + errnoName(err), false, err.Error()}, nil
			}
			defer unix.Close(conn)
			if _, err := unix.Write(cl, marker); err != nil {
				return Outcome{"send " + errnoName(err), false, err.Error()}, nil
			}
			buf := make([]byte, 64)
			n, err := unix.Read(conn, buf)
			if err != nil {
				return Outcome{"recv " + errnoName(err), false, err.Error()}, nil
			}
			st, err := lstat(c.Path("ldir/sock"))
			if err != nil {
				return Outcome{}, err
			}
			ok := st.Mode&unix.S_IFMT == unix.S_IFSOCK && hasMarker(buf[:n])
			obs, _ := verdict(ok, "works", "connected, data lost")
			return Outcome{obs, ok, fmt.Sprintf("socket file mode %o; received %s", st.Mode, q(buf[:n]))}, nil
		},
	}
}
