package scenarios

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseDepths parses a comma-separated list of image depths (--depths):
// whole numbers of layers from 1. Whether a driver can stack that many is
// the driver's to say.
func ParseDepths(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad depth %q: want whole numbers of layers from 1, e.g. 1,16,128", s)
		}
		out = append(out, n)
	}
	return out, nil
}
