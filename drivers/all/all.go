// Package all imports every driver so it registers itself.
package all

import (
	_ "github.com/unionbench/unionbench/drivers/aufs"
	_ "github.com/unionbench/unionbench/drivers/fuseoverlayfs"
	_ "github.com/unionbench/unionbench/drivers/overlay"
	_ "github.com/unionbench/unionbench/drivers/overlay2"
	_ "github.com/unionbench/unionbench/drivers/vfs"
)
