package verify

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/scanin/scanin/assertion"
)

// ErrNoDevice is a DeviceStore's answer for a device id it does not know.
var ErrNoDevice = errors.New("no such device")

// ErrDeviceExists is a DeviceStore's answer to registering a device id
// that is registered already (revoked or not): a registration never
// replaces a key, and a revoked device stays revoked.
var ErrDeviceExists = errors.New("the device id is registered already")

// Device is a registered device.
type Device struct {
	// ID is the device id, the assertions' kid.
	ID string
	// PublicKey is the device's P-256 public key.
	PublicKey *ecdsa.PublicKey
	// Name and Type are how to name the device to its user ("Pixel 9",
	// "android").
	Name, Type string
	// User is the id of the user who registered the device, which every
	// assertion's sub must equal; empty means not recorded (then any sub
	// is accepted: the CLI's devices file has no users).
	User string
	// Revoked is set once the device is revoked.
	Revoked bool
	// RegisteredAt is when the device was registered.
	RegisteredAt time.Time
}

// NewDevice checks a registration object (assertion.ParseRegistration
// reads one from JSON) and returns the Device it describes, registered by
// user (or "" when unknown) at when.
func NewDevice(reg assertion.Registration, user string, when time.Time) (Device, error) {
	pub, err := reg.Check()
	if err != nil {
		return Device{}, err
	}
	return Device{ID: reg.DeviceID, PublicKey: pub, Name: reg.Name, Type: reg.Type, User: user, RegisteredAt: when}, nil
}

// DeviceStore keeps the registered devices. Implementations must be safe
// for concurrent use.
type DeviceStore interface {
	// Register adds a device, or returns ErrDeviceExists.
	Register(ctx context.Context, d Device) error
	// Lookup returns the device with this id, revoked or not, or
	// ErrNoDevice.
	Lookup(ctx context.Context, id string) (Device, error)
	// Revoke marks the device revoked for good, or returns ErrNoDevice.
	Revoke(ctx context.Context, id string) error
}

// ReplayStore remembers the jti of every accepted assertion. An
// implementation must be safe for concurrent use, and Remember must be
// atomic: of two calls with the same jti, at most one reports it fresh.
type ReplayStore interface {
	// Remember records jti as used and reports whether it was fresh (not
	// recorded before). It must keep jti at least until the time until
	// (the assertion's exp), and may forget it afterwards.
	Remember(ctx context.Context, jti string, until time.Time) (fresh bool, err error)
}

// MemoryDevices is a DeviceStore in memory, for tests, demos and single
// processes. The zero value is not usable: call NewMemoryDevices.
type MemoryDevices struct {
	mu      sync.Mutex
	devices map[string]Device
}

var _ DeviceStore = (*MemoryDevices)(nil)

// NewMemoryDevices returns an empty MemoryDevices.
func NewMemoryDevices() *MemoryDevices {
	return &MemoryDevices{devices: map[string]Device{}}
}

// Register implements DeviceStore.
func (m *MemoryDevices) Register(_ context.Context, d Device) error {
	if err := assertion.CheckDeviceID(d.ID); err != nil {
		return fmt.Errorf("failed to register a device: %w", err)
	}
	if d.PublicKey == nil {
		return errors.New("failed to register a device: no public key")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.devices[d.ID]; ok {
		return fmt.Errorf("failed to register device %q: %w", d.ID, ErrDeviceExists)
	}
	m.devices[d.ID] = d
	return nil
}

// Lookup implements DeviceStore.
func (m *MemoryDevices) Lookup(_ context.Context, id string) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return Device{}, ErrNoDevice
	}
	return d, nil
}

// Revoke implements DeviceStore.
func (m *MemoryDevices) Revoke(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return fmt.Errorf("failed to revoke device %q: %w", id, ErrNoDevice)
	}
	d.Revoked = true
	m.devices[id] = d
	return nil
}

// ListByUser returns the devices user registered, revoked ones included,
// oldest first.
func (m *MemoryDevices) ListByUser(_ context.Context, user string) ([]Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Device
	for _, d := range m.devices {
		if d.User == user {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Device) int {
		if c := a.RegisteredAt.Compare(b.RegisteredAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// replayGrace is how long past its exp a jti is kept: a margin for a
// caller whose clock reads a little behind the store's.
const replayGrace = time.Minute

// MemoryReplay is a ReplayStore in memory. It forgets a jti a minute after
// its exp, sweeping expired entries as it goes, so its size is bounded by
// the assertions accepted in the last three minutes or so. The zero value
// is not usable: call NewMemoryReplay.
type MemoryReplay struct {
	now func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time // jti -> forget after
	nextSweep int                  // sweep when len(seen) reaches this
}

var _ ReplayStore = (*MemoryReplay)(nil)

// NewMemoryReplay returns an empty MemoryReplay whose clock is now (nil
// means time.Now).
func NewMemoryReplay(now func() time.Time) *MemoryReplay {
	if now == nil {
		now = time.Now
	}
	return &MemoryReplay{now: now, seen: map[string]time.Time{}, nextSweep: 64}
}

// Remember implements ReplayStore.
func (m *MemoryReplay) Remember(_ context.Context, jti string, until time.Time) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if forget, ok := m.seen[jti]; ok && now.Before(forget) {
		return false, nil
	}
	if len(m.seen) >= m.nextSweep {
		for k, forget := range m.seen {
			if !now.Before(forget) {
				delete(m.seen, k)
			}
		}
		// Sweeping again only once the map has doubled keeps the cost
		// per call constant on average.
		m.nextSweep = max(64, 2*len(m.seen))
	}
	m.seen[jti] = until.Add(replayGrace)
	return true, nil
}

// Len returns how many jti values the store holds now, expired ones not
// yet swept included.
func (m *MemoryReplay) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}
