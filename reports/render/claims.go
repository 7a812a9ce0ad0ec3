package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
)

// Verdict is what a group's measurements say of a claim.
type Verdict string

const (
	Supported    Verdict = "supported"
	Contradicted Verdict = "contradicted"
	// Inconclusive: the measurements are there but do not tell the two
	// sides apart (confidence intervals overlap, or too few samples for
	// the Mann-Whitney test to reach significance).
	Inconclusive Verdict = "inconclusive"
	NotMeasured  Verdict = "not measured"
)

// Finding is one claim judged on one host group.
type Finding struct {
	Verdict Verdict
	// Evidence is the measurements that bear on the claim, one line each.
	Evidence []string
	// Why says what decided the verdict, or what is missing for one.
	Why string
}

// Claim is something the write-ups say about these drivers, with the
// function that judges it from one host group's statistics. A claim only
// ever compares measurements of one group: timings of an emulated CPU and
// of a native one are never set against each other.
type Claim struct {
	Text, Source string
	Judge        func(*dataset.Group) Finding
}

// Sources of the claims: Docker's storage-driver pages, and the seed
// write-ups (blog posts on Docker's drivers the project started from).
const (
	docsAufs    = "Docker docs: storage drivers / aufs"
	docsOverlay = "Docker docs: storage drivers / OverlayFS"
	seed        = "seed write-up"
)

// claimsNote heads the claims section of both formats.
const claimsNote = "What the write-ups and Docker's storage-driver documentation claim about these drivers, judged on each host " +
	"configuration's own measurements (never across configurations). A difference counts when the medians' 95% confidence " +
	"intervals are disjoint, when the Mann-Whitney U test is significant (p < 0.05) where there are too few samples for an " +
	"interval, or, for exact counts, when the medians differ; inconclusive otherwise. Figures are medians [95% CI]."

// Claims are the claims every report opens with, in order.
var Claims = []Claim{
	{"aufs lookup cost grows with layer depth and is worse than overlayfs on deep images", docsAufs + "; " + seed, judgeAufsLookup},
	{"overlay/overlay2 copy-up is faster than aufs's", docsOverlay + "; " + seed, judgeCopyUpVsAufs},
	{"aufs and overlay share page cache between containers; vfs does not", docsAufs + "; " + docsOverlay, judgePageCache},
	{"legacy overlay exhausts inodes: far more inodes than overlay2 for the same image, fewer layers fit", docsOverlay + "; " + seed, judgeLegacyInodes},
	{"copy-up copies the whole file even for a one-byte write", docsOverlay + "; " + seed, judgeWholeFileCopyUp},
	// Not from the write-ups: what one lowerdir per layer (and fsconfig's
	// lowerdir+ beyond a page of mount data) would cost, per issue 12.
	{"overlay2 mounts slower as the image gets deeper", "unionbench issue 12", judgeMountDepth},
}

// claimsTable judges every claim on a group.
func claimsTable(g *dataset.Group) Table {
	t := Table{Header: []string{"claim", "source", "measurements", "verdict"}}
	for _, cl := range Claims {
		f := cl.Judge(g)
		cls := map[Verdict]string{Supported: "good", Contradicted: "bad", Inconclusive: "na", NotMeasured: "na"}[f.Verdict]
		verdict := string(f.Verdict)
		if f.Why != "" {
			verdict += ": " + f.Why
		}
		ev := strings.Join(f.Evidence, "; ")
		if ev == "" {
			ev = "—"
		}
		t.Rows = append(t.Rows, []Cell{c(cl.Text), c(cl.Source), c(ev), {Text: verdict, Class: cls}})
	}
	return t
}

// order is how one measurement compares with another.
type order struct {
	// Sign is -1 (less), 0 (no difference shown) or +1 (more), of the
	// medians.
	Sign int
	// Decisive is set when the sign is established: exact counts
	// (whose medians differ or do not), disjoint confidence intervals, or
	// a significant Mann-Whitney test where there are too few samples for
	// an interval.
	Decisive bool
}

// compare says whether a's samples are above or below b's.
func compare(a, b *dataset.Measurement) order {
	sa, sb := a.Summary, b.Summary
	sign := 0
	switch {
	case sa.Median > sb.Median:
		sign = 1
	case sa.Median < sb.Median:
		sign = -1
	}
	switch {
	case a.Exact && b.Exact:
		return order{sign, true}
	case sa.HasCI() && sb.HasCI():
		if sa.Lo > sb.Hi || sa.Hi < sb.Lo {
			return order{sign, true}
		}
		return order{0, false}
	}
	if stats.Compare(b.Samples, a.Samples, false).Significant {
		return order{sign, true}
	}
	return order{0, false}
}

// more reports whether a is decisively above b, and whether it is
// decisively below (what would contradict "more").
func more(a, b *dataset.Measurement) (yes, no bool) {
	o := compare(a, b)
	return o.Decisive && o.Sign > 0, o.Decisive && o.Sign <= 0
}

// figure is a measurement's median, with its CI when it has one (exact
// counts have none to give).
func figure(m *dataset.Measurement) string {
	s := units.Format(m.Summary.Median, m.Unit)
	if m.Summary.HasCI() && !m.Exact {
		s += fmt.Sprintf(" [%s, %s]", units.Format(m.Summary.Lo, m.Unit), units.Format(m.Summary.Hi, m.Unit))
	}
	return s
}

// measured returns the measurements of a scenario and metric of driver
// that succeeded: the driver's default variant (named as the driver) when
// it has one, else its first variant measured. unsupported is why the
// driver has none, when it has records that say (the reason of an
// unsupported one, or "failed: " and the error of a failed one).
func measured(g *dataset.Group, driver, scenario, metric string, where ...results.Param) (ms []*dataset.Measurement, unsupported string) {
	var all []*dataset.Measurement
	for _, m := range g.Select(scenario, metric, where...) {
		if m.Driver == driver {
			all = append(all, m)
		}
	}
	variant := ""
	for _, m := range all {
		if !m.Failed() && (variant == "" || m.Variant == driver) {
			variant = m.Variant
		}
		if m.Failed() && unsupported == "" {
			unsupported = oneLine(strings.Join(m.Errors, "; "))
			if !m.Unsupported {
				unsupported = "failed: " + unsupported
			}
		}
	}
	for _, m := range all {
		if m.Variant == variant && !m.Failed() {
			ms = append(ms, m)
		}
	}
	if len(ms) > 0 {
		unsupported = ""
	}
	return ms, unsupported
}

// missing says why a driver has no measurements of a metric.
func missing(driver, scenario, why string) string {
	if err, ok := strings.CutPrefix(why, "failed: "); ok {
		return fmt.Sprintf("%s %s failed (%s)", driver, scenario, short(err, 80))
	}
	if why != "" {
		return fmt.Sprintf("%s unsupported here (%s)", driver, short(why, 80))
	}
	return fmt.Sprintf("no %s %s results", driver, scenario)
}

// byNumber returns the measurements sorted by an integer parameter,
// dropping those without it.
// depthSweep is driver's measurements of metric at numeric depths, in
// depth order, or why there are not at least two of them to compare.
func depthSweep(g *dataset.Group, driver, scenario, metric string, where ...results.Param) ([]*dataset.Measurement, string) {
	ms, why := measured(g, driver, scenario, metric, where...)
	ms = byNumber(ms, "depth")
	switch len(ms) {
	case 0:
		return nil, missing(driver, scenario, why)
	case 1:
		return nil, fmt.Sprintf("%s %s measured at one depth only", driver, scenario)
	}
	return ms, ""
}

func byNumber(ms []*dataset.Measurement, key string) []*dataset.Measurement {
	var out []*dataset.Measurement
	for _, m := range ms {
		if _, err := strconv.Atoi(m.Param(key)); err == nil {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b *dataset.Measurement) int { return num(a, key) - num(b, key) })
	return out
}

func num(m *dataset.Measurement, key string) int {
	n, _ := strconv.Atoi(m.Param(key))
	return n
}

func byParam(ms []*dataset.Measurement, key, value string) *dataset.Measurement {
	for _, m := range ms {
		if m.Param(key) == value {
			return m
		}
	}
	return nil
}

// coldLookup is the lookup metric claim 1 reads: a stat from cold dentry
// and inode caches, where a union walks its layers (a warm stat is
// answered from the union's own dentries whatever the depth).
var coldLookup = []results.Param{results.P("cache", "cold")}

func judgeAufsLookup(g *dataset.Group) Finding {
	aufs, why := depthSweep(g, "aufs", "lookup", "stat", coldLookup...)
	if why != "" {
		return Finding{Verdict: NotMeasured, Why: why}
	}
	lo, hi := aufs[0], aufs[len(aufs)-1]
	grows, shrinks := more(hi, lo)
	f := Finding{Evidence: []string{fmt.Sprintf("dentry-cold stat, depth %s → %s: %s %s → %s",
		lo.Param("depth"), hi.Param("depth"), hi.Variant, figure(lo), figure(hi))}}
	ov, ovWhy := measured(g, "overlay2", "lookup", "stat", coldLookup...)
	ov = byNumber(ov, "depth")
	// The deepest depth both measured is where "deep images" are judged.
	var deepA, deepO, shallowO *dataset.Measurement
	for i := len(aufs) - 1; i >= 0 && deepA == nil; i-- {
		if o := byParam(ov, "depth", aufs[i].Param("depth")); o != nil {
			deepA, deepO = aufs[i], o
		}
	}
	if deepO != nil {
		shallowO = ov[0]
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s → %s", deepO.Variant, figure(shallowO), figure(deepO)))
	}
	switch {
	case shrinks:
		f.Verdict, f.Why = Contradicted, fmt.Sprintf("aufs stat at depth %s is not slower than at depth %s", hi.Param("depth"), lo.Param("depth"))
		return f
	case deepO == nil:
		f.Verdict, f.Why = NotMeasured, "no overlay2 lookup at a depth aufs measured"
		if len(ov) == 0 {
			f.Why = missing("overlay2", "lookup", ovWhy)
		}
		if grows {
			f.Why = "aufs grows with depth; " + f.Why
		}
		return f
	}
	worse, better := more(deepA, deepO)
	switch {
	case better:
		f.Verdict, f.Why = Contradicted, fmt.Sprintf("aufs is not slower than %s at depth %s", deepO.Variant, deepA.Param("depth"))
	case grows && worse:
		f.Verdict, f.Why = Supported, fmt.Sprintf("grows with depth, and slower than %s at depth %s", deepO.Variant, deepA.Param("depth"))
	default:
		f.Verdict, f.Why = Inconclusive, "the difference is within the noise"
	}
	return f
}

// copyUpCase picks the copy-up case a driver comparison is made on: the
// largest size measured by every driver, cold cache when there is one
// (the copy reads the lower file from the device, as a container's first
// write to a file of a freshly pulled image does).
func copyUpCase(sets ...[]*dataset.Measurement) (size, cache string, ok bool) {
	best := int64(-1)
	for _, m := range sets[0] {
		n, err := units.ParseSize(m.Param("size"))
		if err != nil {
			continue
		}
		inAll := true
		for _, s := range sets[1:] {
			if !slices.ContainsFunc(s, func(o *dataset.Measurement) bool {
				return o.Param("size") == m.Param("size") && o.Param("cache") == m.Param("cache")
			}) {
				inAll = false
			}
		}
		if !inAll {
			continue
		}
		if n > best || (n == best && m.Param("cache") == "cold") {
			best, size, cache, ok = n, m.Param("size"), m.Param("cache"), true
		}
	}
	return size, cache, ok
}

func judgeCopyUpVsAufs(g *dataset.Group) Finding {
	aufs, why := measured(g, "aufs", "copyup", "first-write")
	if len(aufs) == 0 {
		return Finding{Verdict: NotMeasured, Why: missing("aufs", "copyup", why)}
	}
	f := Finding{}
	verdicts := []Verdict{}
	for _, drv := range []string{"overlay2", "overlay"} {
		ov, _ := measured(g, drv, "copyup", "first-write")
		size, cache, ok := copyUpCase(aufs, ov)
		if !ok {
			continue
		}
		where := []results.Param{results.P("size", size), results.P("cache", cache)}
		a, o := pick(aufs, where), pick(ov, where)
		f.Evidence = append(f.Evidence, fmt.Sprintf("first write, size=%s cache=%s: %s %s, %s %s", size, cache, a.Variant, figure(a), o.Variant, figure(o)))
		faster, slower := more(a, o)
		switch {
		case faster:
			verdicts = append(verdicts, Supported)
		case slower:
			verdicts = append(verdicts, Contradicted)
		default:
			verdicts = append(verdicts, Inconclusive)
		}
	}
	switch {
	case len(verdicts) == 0:
		f.Verdict, f.Why = NotMeasured, "no overlay or overlay2 copy-up at a size aufs measured"
	case slices.Contains(verdicts, Contradicted):
		f.Verdict, f.Why = Contradicted, "an overlay driver's copy-up is not faster than aufs's"
	case slices.Contains(verdicts, Inconclusive):
		f.Verdict, f.Why = Inconclusive, "the difference is within the noise"
	default:
		f.Verdict = Supported
	}
	return f
}

func pick(ms []*dataset.Measurement, where []results.Param) *dataset.Measurement {
	for _, m := range ms {
		if m.Param(where[0].Key) == where[0].Value && m.Param(where[1].Key) == where[1].Value {
			return m
		}
	}
	return nil
}

// judgePageCache reads cache-copies (resident pages of the file over its
// size, an exact count) at the most containers measured: a driver shares
// when its median is nearer one copy than one per container.
func judgePageCache(g *dataset.Group) Finding {
	f := Finding{}
	var shares, notShares, absent []string
	for _, drv := range []string{"aufs", "overlay2", "overlay", "vfs"} {
		ms, _ := measured(g, drv, "pagecache", "cache-copies")
		ms = byNumber(ms, "containers")
		if len(ms) == 0 || num(ms[len(ms)-1], "containers") < 2 {
			absent = append(absent, drv)
			continue
		}
		m := ms[len(ms)-1]
		n := num(m, "containers")
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s copies for %d containers (size=%s)", m.Variant, strconv.FormatFloat(m.Summary.Median, 'g', 3, 64), n, m.Param("size")))
		if m.Summary.Median < (1+float64(n))/2 {
			shares = append(shares, drv)
		} else {
			notShares = append(notShares, drv)
		}
	}
	unions := slices.DeleteFunc(slices.Clone(notShares), func(d string) bool { return d == "vfs" })
	switch {
	case len(g.Select("pagecache", "cache-copies")) == 0:
		f.Verdict, f.Why = NotMeasured, "no pagecache results"
	case len(shares)+len(notShares) == 0:
		f.Verdict, f.Why = NotMeasured, "no pagecache results with more than one container"
	case len(unions) > 0:
		f.Verdict, f.Why = Contradicted, strings.Join(unions, ", ")+" keep a copy per container"
	case slices.Contains(shares, "vfs"):
		f.Verdict, f.Why = Contradicted, "vfs shares"
	case len(shares) == 0:
		f.Verdict, f.Why = NotMeasured, "no aufs or overlay pagecache results"
	default:
		f.Verdict = Supported
		if len(absent) > 0 {
			f.Why = "not measured for " + strings.Join(absent, ", ")
		}
	}
	return f
}

func judgeLegacyInodes(g *dataset.Group) Finding {
	ov, why := measured(g, "overlay", "inodes", "image-inodes")
	if len(ov) == 0 {
		return Finding{Verdict: NotMeasured, Why: missing("overlay", "inodes", why)}
	}
	ov2, why2 := measured(g, "overlay2", "inodes", "image-inodes")
	if len(ov2) == 0 {
		return Finding{Verdict: NotMeasured, Why: missing("overlay2", "inodes", why2)}
	}
	f := Finding{}
	moreSomewhere, notMore, compared := false, false, 0
	for _, o := range ov {
		var o2 *dataset.Measurement
		for _, m := range ov2 {
			if m.ParamString() == o.ParamString() {
				o2 = m
			}
		}
		if o2 == nil {
			continue
		}
		compared++
		f.Evidence = append(f.Evidence, fmt.Sprintf("image %s: %s %s, %s %s", o.ParamString(), o.Variant, figure(o), o2.Variant, figure(o2)))
		yes, no := more(o, o2)
		moreSomewhere = moreSomewhere || yes
		notMore = notMore || no
	}
	if compared == 0 {
		return Finding{Verdict: NotMeasured, Why: "overlay and overlay2 measured no image of the same shape"}
	}
	lo, _ := measured(g, "overlay", "inodes", "layers-until-enospc")
	lo2, _ := measured(g, "overlay2", "inodes", "layers-until-enospc")
	fits := 0 // -1: fewer layers fit on overlay, +1: more
	if len(lo) > 0 && len(lo2) > 0 {
		a, b := lo[0], lo2[0]
		f.Evidence = append(f.Evidence, fmt.Sprintf("layers until ENOSPC (%s): %s %s, %s %s", a.ParamString(), a.Variant, figure(a), b.Variant, figure(b)))
		if o := compare(a, b); o.Decisive {
			fits = o.Sign
			if o.Sign == 0 {
				fits = 1 // as many fit: not "fewer"
			}
		}
	}
	switch {
	case fits > 0:
		f.Verdict, f.Why = Contradicted, "at least as many layers fit on overlay as on overlay2"
	case !moreSomewhere && notMore:
		f.Verdict, f.Why = Contradicted, "overlay uses no more inodes than overlay2 for any image measured"
	case !moreSomewhere:
		f.Verdict, f.Why = Inconclusive, "no image shape tells them apart"
	case fits == 0 && len(lo) == 0:
		f.Verdict, f.Why = Supported, "more inodes per image (layers until ENOSPC not measured)"
	case fits == 0:
		f.Verdict, f.Why = Inconclusive, "layers until ENOSPC within the noise"
	default:
		f.Verdict = Supported
	}
	return f
}

// judgeWholeFileCopyUp reads, per union variant, what reached the device
// for a one-byte first write to the largest file measured: a whole-file
// copy writes at least the file's size, a block-level one a few blocks.
// A variant counts as copying the whole file when it wrote more than half
// the file (midway between the two). vfs is left out: its container is a
// copy already, it has nothing to copy up.
func judgeWholeFileCopyUp(g *dataset.Group) Finding {
	f := Finding{}
	var whole, partial []string
	variants := dataset.Variants(g.Select("copyup", "first-write-device-bytes"))
	for _, v := range variants {
		var ms []*dataset.Measurement
		for _, m := range g.Select("copyup", "first-write-device-bytes") {
			if m.Variant == v && !m.Failed() && m.Driver != "vfs" && m.Driver != dataset.FloorDriver {
				ms = append(ms, m)
			}
		}
		size, cache, ok := copyUpCase(ms)
		if !ok {
			continue
		}
		n, _ := units.ParseSize(size)
		m := pick(ms, []results.Param{results.P("size", size), results.P("cache", cache)})
		ev := fmt.Sprintf("%s: 1-byte first write to a %s file (cache=%s) wrote %s", v, size, cache, figure(m))
		// The smallest size shows how the cost grows with the file.
		small, smallest := "", int64(-1)
		for _, o := range ms {
			if k, err := units.ParseSize(o.Param("size")); err == nil && o.Param("cache") == cache && (smallest < 0 || k < smallest) {
				small, smallest = o.Param("size"), k
			}
		}
		if smallest >= 0 && smallest < n {
			fw := onlyVariant(g.Select("copyup", "first-write", results.P("cache", cache)), v)
			t0, t1 := byParam(fw, "size", small), byParam(fw, "size", size)
			if t0 != nil && t1 != nil {
				ev += fmt.Sprintf(", first write %s → %s from %s to %s", small, size, figure(t0), figure(t1))
			}
		}
		f.Evidence = append(f.Evidence, ev)
		if m.Summary.Median > float64(n)/2 {
			whole = append(whole, v)
		} else {
			partial = append(partial, v)
		}
	}
	switch {
	case len(whole)+len(partial) == 0:
		f.Verdict, f.Why = NotMeasured, "no copy-up device-bytes results for a union driver (they need a loop-device backing fs)"
	case len(partial) > 0:
		f.Verdict, f.Why = Contradicted, strings.Join(partial, ", ")+" wrote less than half the file"
	default:
		f.Verdict = Supported
	}
	return f
}

// onlyVariant is the measurements of variant v that succeeded.
func onlyVariant(ms []*dataset.Measurement, v string) []*dataset.Measurement {
	var out []*dataset.Measurement
	for _, m := range ms {
		if m.Variant == v && !m.Failed() {
			out = append(out, m)
		}
	}
	return out
}

func judgeMountDepth(g *dataset.Group) Finding {
	ms, why := depthSweep(g, "overlay2", "mount", "mount")
	if why != "" {
		return Finding{Verdict: NotMeasured, Why: why}
	}
	lo, hi := ms[0], ms[len(ms)-1]
	f := Finding{Evidence: []string{fmt.Sprintf("mount, depth %s → %s: %s %s → %s", lo.Param("depth"), hi.Param("depth"), hi.Variant, figure(lo), figure(hi))}}
	yes, no := more(hi, lo)
	switch {
	case yes:
		f.Verdict = Supported
	case no:
		f.Verdict, f.Why = Contradicted, "not slower at the deepest depth"
	default:
		f.Verdict, f.Why = Inconclusive, "the difference is within the noise"
	}
	return f
}
