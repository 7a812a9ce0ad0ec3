package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/dataset"
)

var update = flag.Bool("update", false, "rewrite the golden tables in testdata")

// tablesMarkdown is every table of a report as Markdown, without the
// figures and prose around them: what a reader compares between versions.
func tablesMarkdown(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	mdTable(&b, r.Hosts)
	for _, g := range r.Groups {
		b.WriteString("### " + g.Group.Label + "\n\n")
		for _, st := range g.Tables {
			b.WriteString("#### " + st.Scenario + "\n\n")
			mdTable(&b, st.Table)
		}
		if g.Quirks != nil {
			mdTable(&b, *g.Quirks)
		}
	}
	return b.Bytes()
}

// TestSchema1Tables reads a committed schema-1 results file (a real run,
// see reports/testdata/README.md) and checks that its report tables are
// exactly what they were when schema 1 was current: upgrading old records
// must give them the meaning the old name conventions gave them. The
// golden file was rendered before schema 2 existed.
//
// schema1-na.jsonl is lines of that run plus hand-made schema-1 records
// of an unsupported driver (extra.unsupported) and a failed measurement,
// which the real run did not have.
func TestSchema1Tables(t *testing.T) {
	for file, golden := range map[string]string{
		"../testdata/small-run/results.jsonl": "small-run-tables.md",
		"testdata/schema1-na.jsonl":           "schema1-na-tables.md",
	} {
		t.Run(golden, func(t *testing.T) {
			s, err := dataset.Load(file)
			require.NoError(t, err)
			r, err := Build(s)
			require.NoError(t, err)
			got := tablesMarkdown(t, r)
			golden := filepath.Join("testdata", golden)
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}
