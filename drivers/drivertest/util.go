package drivertest

import (
	"sort"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

type syscallStat struct {
	ino, nlink uint64
	dev        uint64
}

func (s *syscallStat) stat(t *testing.T, p string) {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(p, &st))
	s.ino, s.nlink, s.dev = st.Ino, st.Nlink, st.Dev
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}
