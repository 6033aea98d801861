package imageview

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"
)

// HistoryRow is one line of `image history`, with the keys of `docker
// image history --format json`.
type HistoryRow struct {
	Comment      string `json:"Comment"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedBy    string `json:"CreatedBy"`
	CreatedSince string `json:"CreatedSince"`
	ID           string `json:"ID"`
	Size         string `json:"Size"`
}

// createdByWidth is how much of a step docker's table shows unless
// --no-trunc.
const createdByWidth = 45

// History is the image's history from its config, newest step first as
// docker prints it: the newest step carries the image's ID, the others
// "<missing>" (berth keeps no intermediate images). A step that made a
// layer shows the layer's size. truncate shortens the steps as docker's
// table does.
func History(img Image, now time.Time, truncate bool) []HistoryRow {
	hist := img.Config.History
	sizes := make([]int64, len(hist))
	layer := 0
	for i, h := range hist {
		if h.EmptyLayer {
			continue
		}
		if layer < len(img.LayerSizes) {
			sizes[i] = img.LayerSizes[layer]
		}
		layer++
	}
	rows := make([]HistoryRow, 0, len(hist))
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		id := "<missing>"
		if i == len(hist)-1 {
			id = ShortID(img.ID)
			if !truncate {
				id = img.ID
			}
		}
		var created time.Time
		if h.Created != nil {
			created = *h.Created
		}
		by := h.CreatedBy
		if truncate {
			by = strings.Join(strings.Fields(by), " ")
			if utf8.RuneCountInString(by) > createdByWidth {
				by = string([]rune(by)[:createdByWidth-1]) + "…"
			}
		}
		rows = append(rows, HistoryRow{
			Comment:      h.Comment,
			CreatedAt:    created.UTC().Format(time.RFC3339),
			CreatedBy:    by,
			CreatedSince: Since(created, now),
			ID:           id,
			Size:         units.HumanSizeWithPrecision(float64(sizes[i]), 3),
		})
	}
	return rows
}
