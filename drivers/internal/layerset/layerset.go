// Package layerset keeps, in memory, the parent chain of the layers a
// full-tree driver (vfs, the legacy overlay driver) has built: each layer's
// parent, its depth, how many children it has, and whether it is still
// being created or already being removed. Create checks a new layer
// against all that before its directory exists and removes the directory
// if building it fails; RemoveTree never deletes through a mount.
//
// Those drivers' on-disk layouts do not record parents, exactly as in
// Docker, whose layer store (/var/lib/docker/image/<driver>/layerdb) keeps
// the chain outside the driver's directory. Rather than add files Docker's
// layout does not have, the driver instance remembers what it built.
//
// When not to use it: for drivers whose layout records the chain (overlay2's
// lower files, aufs's layers/ directory), read that instead; and a root
// left behind by another process cannot be reopened through a Set, only
// removed as a whole.
package layerset

import (
	"errors"
	"fmt"
	"sync"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
)

type state int

const (
	creating state = iota
	ready
	removing
)

func (s state) String() string {
	return [...]string{"still being created", "ready", "being removed"}[s]
}

type layer struct {
	parent   string
	depth    int
	children int
	state    state
}

// Set is the layers of one driver instance. It is safe for concurrent use.
type Set struct {
	driver string
	mu     sync.Mutex
	layers map[string]*layer
}

// New returns an empty Set; driver names the driver in errors.
func New(driver string) *Set {
	return &Set{driver: driver, layers: map[string]*layer{}}
}

// add reserves id as a child of parent ("" for a base layer). It refuses
// an invalid or taken id, an invalid spec (nil is valid: nothing to
// apply), a parent that is not ready, and (with a *drivers.DepthError) a
// depth beyond max. Every successful add must be followed by done.
func (s *Set) add(id, parent string, spec *layerspec.Layer, max int) error {
	if err := drivers.ValidateID(id); err != nil {
		return fmt.Errorf("%s: %w", s.driver, err)
	}
	if spec != nil {
		if err := spec.Validate(); err != nil {
			return fmt.Errorf("%s: layer %q: %w", s.driver, id, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.layers[id]; ok {
		return &drivers.LayerError{Driver: s.driver, Op: "create", ID: id, Err: fmt.Errorf("%w (%s)", drivers.ErrLayerExists, l.state)}
	}
	depth := 1
	if parent != "" {
		p, err := s.get("create", parent)
		if errors.Is(err, drivers.ErrUnknownLayer) {
			return drivers.UnknownParent(s.driver, id, parent)
		}
		if err != nil {
			return &drivers.LayerError{Driver: s.driver, Op: "create", ID: id, Err: fmt.Errorf("parent: %w", err)}
		}
		depth = p.depth + 1
	}
	if depth > max {
		return &drivers.DepthError{Driver: s.driver, Depth: depth, Max: max}
	}
	if parent != "" {
		s.layers[parent].children++
	}
	s.layers[id] = &layer{parent: parent, depth: depth, state: creating}
	return nil
}

// done ends an add: the layer becomes ready if ok, or is forgotten.
func (s *Set) done(id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.layers[id].state = ready
		return
	}
	s.forget(id)
}

// Ready returns nil if id is a ready layer, else a *drivers.LayerError
// for op saying why not.
func (s *Set) Ready(op, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.get(op, id)
	return err
}

// Depth returns how many layers are stacked under and including id.
func (s *Set) Depth(id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.get("depth", id)
	if err != nil {
		return 0, err
	}
	return l.depth, nil
}

// StartRemove marks id as being removed, refusing a layer that is unknown,
// not ready, or has children. Every successful StartRemove must be followed
// by EndRemove.
func (s *Set) StartRemove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.get("remove", id)
	if err != nil {
		return err
	}
	if l.children > 0 {
		return &drivers.LayerError{Driver: s.driver, Op: "remove", ID: id, Err: fmt.Errorf("%w: %d of them: remove them first", drivers.ErrLayerHasChildren, l.children)}
	}
	l.state = removing
	return nil
}

// EndRemove ends a StartRemove: the layer is forgotten if ok, or is ready
// again (its directories may be partly gone; the caller's error says so).
func (s *Set) EndRemove(id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.forget(id)
		return
	}
	s.layers[id].state = ready
}

// get returns ready layer id, or the *drivers.LayerError of op on it.
func (s *Set) get(op, id string) (*layer, error) {
	l, ok := s.layers[id]
	if !ok {
		if err := drivers.ValidateID(id); err != nil {
			return nil, fmt.Errorf("%s: %w", s.driver, err)
		}
		return nil, &drivers.LayerError{Driver: s.driver, Op: op, ID: id, Err: fmt.Errorf("%w (this driver instance did not create it)", drivers.ErrUnknownLayer)}
	}
	if l.state != ready {
		return nil, &drivers.LayerError{Driver: s.driver, Op: op, ID: id, Err: fmt.Errorf("%w: %s", drivers.ErrLayerBusy, l.state)}
	}
	return l, nil
}

func (s *Set) forget(id string) {
	if p := s.layers[id].parent; p != "" {
		s.layers[p].children--
	}
	delete(s.layers, id)
}
