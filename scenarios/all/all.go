// Package all imports every scenario so it registers itself with the
// scenarios registry; the CLI and the bench package import it once.
package all

import (
	_ "github.com/unionbench/unionbench/scenarios/copyup"
	_ "github.com/unionbench/unionbench/scenarios/inodes"
	_ "github.com/unionbench/unionbench/scenarios/lookup"
	_ "github.com/unionbench/unionbench/scenarios/mount"
	_ "github.com/unionbench/unionbench/scenarios/pagecache"
	_ "github.com/unionbench/unionbench/scenarios/quirks"
)
