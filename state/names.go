package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckID reports whether id can name a sync or a run: 1 to 128 letters,
// digits, dots, underscores or hyphens, starting with a letter or digit.
func CheckID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("invalid %s %q: use 1 to 128 letters, digits, '.', '_' or '-', "+
			"starting with a letter or digit", kind, id)
	}
	return nil
}

// BaselineName is the name of a sync's baseline object.
func BaselineName(syncID string) string { return "syncs/" + syncID + "/baseline" }

// RunName is the name of the object part of one run of a sync.
func RunName(syncID, runID, part string) string {
	return "syncs/" + syncID + "/runs/" + runID + "/" + part
}

// ChangesetName is the name of a run's changeset.
func ChangesetName(syncID, runID string) string { return RunName(syncID, runID, "changeset") }

// BatchesName is the folder of a run's batch outcome logs.
func BatchesName(syncID, runID string) string { return RunName(syncID, runID, "batches") }

// BatchOutcomesName is the name of one batch's outcome log.
func BatchOutcomesName(syncID, runID string, batch int) string {
	return BatchesName(syncID, runID) + fmt.Sprintf("/%06d.outcomes", batch)
}

// PendingName is the name of the object that records the run of a sync
// whose outcomes are not yet folded into the baseline.
func PendingName(syncID string) string { return "syncs/" + syncID + "/pending" }

// LoadBaseline reads a sync's baseline; a sync that never committed a run
// has an empty one.
func LoadBaseline(store Store, syncID string) (*Baseline, error) {
	r, err := store.Open(BaselineName(syncID))
	if errors.Is(err, ErrNotFound) {
		return NewBaseline(nil)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := ReadBaseline(r)
	if err != nil {
		return nil, fmt.Errorf("read baseline of sync %q: %w", syncID, err)
	}
	return b, nil
}

// SaveBaseline replaces a sync's baseline atomically.
func SaveBaseline(store Store, syncID string, b *Baseline) error {
	w, err := store.Create(BaselineName(syncID))
	if err != nil {
		return err
	}
	if _, err := b.WriteTo(w); err != nil {
		w.Abort()
		return fmt.Errorf("write baseline of sync %q: %w", syncID, err)
	}
	return w.Commit()
}

// WriteJSON stores v as the JSON object name.
func WriteJSON(store Store, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %q: %w", name, err)
	}
	w, err := store.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		w.Abort()
		return fmt.Errorf("write %q: %w", name, err)
	}
	return w.Commit()
}

// ReadJSON decodes the JSON object name into v.
func ReadJSON(store Store, name string, v any) error {
	r, err := store.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("decode %q: %w", name, err)
	}
	return nil
}
