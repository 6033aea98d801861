package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

type eventsOptions struct {
	json  bool
	since string
	until string
}

func newEventsCmd(g *globalOptions) *cobra.Command {
	opts := eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Stream the events of the project's containers as they happen",
		Long: `Print each event of the project's containers (of the services named, or
all) as it happens, until Ctrl-C, as "docker compose events" does:

  2026-11-25 10:00:00.000000 container start demo-web-1 (image=nginx, name=demo-web-1)

The actions are Docker's: create, start, die (with exitCode), kill (with
signal), stop, pause, unpause, oom, destroy, and "health_status: healthy"
or "health_status: unhealthy" when a healthcheck changes its verdict. The
attributes are the container's name and image and its service's labels.
One-off containers (berth run) are left out. With --json each event is a
JSON object on a line of its own, with docker compose's keys: time, type,
action, id, service, attributes.

Events come from containerd as they happen; nothing from before the
command started is shown (containerd keeps no history), so --since only
leaves out what happens before a time still to come. --until ends the
stream at that time. Both take docker's forms: an RFC 3339 time
(2026-11-25T10:00:00Z), Unix seconds, or a duration counted back from
now (10m).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd, g, opts, args)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "Print one JSON object per event and line")
	cmd.Flags().StringVar(&opts.since, "since", "", "Leave out events before this time")
	cmd.Flags().StringVar(&opts.until, "until", "", "Stop streaming at this time")
	return cmd
}

func runEvents(cmd *cobra.Command, g *globalOptions, opts eventsOptions, services []string) error {
	ctx := cmd.Context()
	now := time.Now()
	since, err := eventTime("since", opts.since, now)
	if err != nil {
		return err
	}
	until, err := eventTime("until", opts.until, now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	p, rt, err := g.projectClient(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	out := cmd.OutOrStdout()
	printEvent := printEventLine
	if opts.json {
		printEvent = printEventJSON
	}
	err = scheduler.FollowEvents(ctx, rt, p.Name, services, func(e scheduler.ContainerEvent) error {
		if e.Time.Before(since) {
			return nil
		}
		return printEvent(out, e)
	})
	if !until.IsZero() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil // --until came
	}
	return err
}

// eventTime reads --since or --until as docker does: an RFC 3339 time, a
// date, Unix seconds (with a fraction), or a duration back from now. The
// zero time for "".
func eventTime(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		whole := math.Floor(secs)
		return time.Unix(int64(whole), int64((secs-whole)*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("events --%s %q: use an RFC 3339 time (2026-11-25T10:00:00Z), Unix seconds or a duration (10m)", flag, v)
}

// printEventLine writes an event as docker compose events does, the
// attributes sorted by name.
func printEventLine(w io.Writer, e scheduler.ContainerEvent) error {
	attrs := make([]string, 0, len(e.Attributes))
	for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
		attrs = append(attrs, k+"="+e.Attributes[k])
	}
	_, err := fmt.Fprintf(w, "%s container %s %s (%s)\n", e.Time.Local().Format("2006-01-02 15:04:05.000000"), e.Action, e.ID, strings.Join(attrs, ", "))
	return err
}

// eventJSON is an event as docker compose events --json prints it (a map
// there, so its keys come sorted).
type eventJSON struct {
	Action     string            `json:"action"`
	Attributes map[string]string `json:"attributes"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
}

func printEventJSON(w io.Writer, e scheduler.ContainerEvent) error {
	return json.NewEncoder(w).Encode(eventJSON{
		Time: e.Time.Local(), Type: "container", Action: string(e.Action), ID: e.ID, Service: e.Service, Attributes: e.Attributes,
	})
}
