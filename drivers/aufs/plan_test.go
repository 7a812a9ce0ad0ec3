package aufs

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testOpts = "dio,xino=/dev/shm/aufs.xino,dirperm1"

// branchesOf parses a plan back into its branches ("path=perm"), in the
// order aufs stacks them, checking the syntax of every call on the way:
// the first is br:<branches joined by ':'>,<opts>, each append call is
// append:<branch> items joined by ','.
func branchesOf(t *testing.T, p mountPlan, opts string) []string {
	t.Helper()
	require.True(t, strings.HasPrefix(p.First, "br:"), "first call starts with br: %q", p.First)
	br := strings.TrimPrefix(p.First, "br:")
	if opts != "" {
		require.True(t, strings.HasSuffix(br, ","+opts), "first call ends with the options: %q", p.First)
		br = strings.TrimSuffix(br, ","+opts)
	}
	require.NotContains(t, br, ",", "only the options follow a comma in the first call")
	out := strings.Split(br, ":")
	for _, call := range p.Appends {
		for _, item := range strings.Split(call, ",") {
			require.True(t, strings.HasPrefix(item, "append:"), "append call item %q in %q", item, call)
			out = append(out, strings.TrimPrefix(item, "append:"))
		}
	}
	return out
}

func wantBranches(rw string, ro []string) []string {
	out := []string{rw + "=rw"}
	for _, r := range ro {
		out = append(out, r+"=ro+wh")
	}
	return out
}

func TestPlanShallowStackIsOneCall(t *testing.T) {
	p, err := planMount("/r/diff/c", []string{"/r/diff/c-init", "/r/diff/b"}, testOpts, 4096)
	require.NoError(t, err)
	assert.Equal(t, "br:/r/diff/c=rw:/r/diff/c-init=ro+wh:/r/diff/b=ro+wh,"+testOpts, p.First)
	assert.Empty(t, p.Appends)
	assert.Equal(t, []string{p.First}, p.Calls())
}

func TestPlanWithoutParentsOrOptions(t *testing.T) {
	p, err := planMount("/r/diff/a", nil, testOpts, 4096)
	require.NoError(t, err)
	assert.Equal(t, "br:/r/diff/a=rw,"+testOpts, p.First)
	assert.Empty(t, p.Appends)

	p, err = planMount("/r/diff/c", []string{"/r/diff/b"}, "", 4096)
	require.NoError(t, err)
	assert.Equal(t, "br:/r/diff/c=rw:/r/diff/b=ro+wh", p.First)
}

func hexID(i int) string { return fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i), byte(i >> 8)})) }

// A 127-branch container (Docker's ids, a realistic work directory) needs
// ~14 KiB of branch paths: the first call carries what fits in a page and
// remounts append the rest, every call within the page.
func TestPlanDeepStackWithLongPathsAppendsWithinPages(t *testing.T) {
	root := "/var/tmp/unionbench/xxxxxxxx/aufs"
	rw := root + "/diff/" + hexID(0)
	var ro []string
	for i := 1; i < DefaultMaxDepth; i++ {
		ro = append(ro, root+"/diff/"+hexID(i))
	}
	require.Len(t, ro, 126)
	require.Greater(t, len(strings.Join(wantBranches(rw, ro), ":")), 4096, "the test stack must not fit in one page")

	p, err := planMount(rw, ro, testOpts, 4096)
	require.NoError(t, err)
	assert.NotEmpty(t, p.Appends, "a stack this deep needs remount,append calls")
	for i, c := range p.Calls() {
		assert.LessOrEqual(t, len(c), 4095, "call %d fits in a page with its NUL", i)
	}
	assert.Equal(t, wantBranches(rw, ro), branchesOf(t, p, testOpts), "every branch once, rw first, parents nearest first")
	// 110-byte branches, ~37 a page: four calls, no more.
	assert.Len(t, p.Calls(), 4)
}

// Each call is filled before the next begins: with a page that holds the
// rw branch and exactly one parent, the second parent starts an append.
func TestPlanFillsEachCallBeforeTheNext(t *testing.T) {
	first := "br:/a=rw:/b=ro+wh,o" // 19 bytes
	p, err := planMount("/a", []string{"/b", "/c", "/d"}, "o", len(first)+1)
	require.NoError(t, err)
	assert.Equal(t, first, p.First)
	assert.Equal(t, []string{"append:/c=ro+wh", "append:/d=ro+wh"}, p.Appends, "an append call holds only what fits: two items need 31 bytes")

	p, err = planMount("/a", []string{"/b", "/c", "/d"}, "o", len("append:/c=ro+wh,append:/d=ro+wh")+1)
	require.NoError(t, err)
	assert.Equal(t, "br:/a=rw:/b=ro+wh:/c=ro+wh,o", p.First)
	assert.Equal(t, []string{"append:/d=ro+wh"}, p.Appends)
}

func TestPlanInvariantsOverPageSizesAndDepths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	withAppends := 0
	for n := 0; n < 500; n++ {
		page := 64 + r.IntN(4096)
		// Paths up to an eighth of a page, options up to a quarter: every
		// branch fits in a call of its own, most stacks need several.
		name := func() string { return "/" + strings.Repeat("x", 1+r.IntN(page/8)) }
		rw := name()
		ro := make([]string, r.IntN(130))
		for i := range ro {
			ro[i] = fmt.Sprintf("%s%d", name(), i)
		}
		opts := strings.Repeat("o", r.IntN(page/4))
		p, err := planMount(rw, ro, opts, page)
		require.NoError(t, err)
		if len(p.Appends) > 0 {
			withAppends++
		}
		for i, c := range p.Calls() {
			require.LessOrEqual(t, len(c), page-1, "page %d call %d", page, i)
			require.NotEmpty(t, c)
		}
		require.Equal(t, wantBranches(rw, ro), branchesOf(t, p, opts), "page %d, %d parents", page, len(ro))
		// Greedy: the next call's first branch would not have fitted in
		// the call before it.
		calls := p.Calls()
		for i := 1; i < len(calls); i++ {
			next := strings.SplitN(calls[i], ",", 2)[0]
			if i == 1 {
				next = strings.TrimPrefix(next, "append:") // joins the br: list
			}
			require.Greater(t, len(calls[i-1])+1+len(next), page-1, "call %d could have taken the next branch", i-1)
		}
	}
	assert.Greater(t, withAppends, 250, "most random stacks exercise appends")
}

func TestPlanRefusesBranchesTooLongForAPage(t *testing.T) {
	_, err := planMount("/"+strings.Repeat("a", 100), nil, testOpts, 128)
	assert.ErrorContains(t, err, "writable branch")
	_, err = planMount("/a", []string{"/b", "/" + strings.Repeat("c", 200)}, testOpts, 128)
	assert.ErrorContains(t, err, "does not fit in one page")
}

func TestCheckOption(t *testing.T) {
	for _, o := range []string{"udba=none", "noplink", "xino=/tmp/x.xino", "nodirperm1"} {
		assert.NoError(t, checkOption(o), o)
	}
	for _, o := range []string{"", "a,b", "a b", "br:/x=rw", "br=/x", "append:/x=ro", "del:/x", "dirs=/x"} {
		assert.Error(t, checkOption(o), o)
	}
}

// Short branch names would fit ~400 to a page; no call adds more than
// maxBranchesPerCall, which a first mount of 126 such branches needed on
// the test kernel (see maxBranchesPerCall).
func TestPlanBoundsBranchesPerCall(t *testing.T) {
	var ro []string
	for i := 1; i < 127; i++ {
		ro = append(ro, fmt.Sprintf("b%d", i))
	}
	plan, err := planMount("b0", ro, "dio", 4096)
	require.NoError(t, err)
	require.Len(t, plan.Appends, 1)
	assert.Equal(t, maxBranchesPerCall, strings.Count(plan.First, "="), "rw and ro branches of the first call")
	assert.Equal(t, 127-maxBranchesPerCall, strings.Count(plan.Appends[0], "append:"))
	assert.Equal(t, wantBranches("b0", ro), branchesOf(t, plan, "dio"))
}
