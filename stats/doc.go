// Package stats turns readings of containers' counters into the rows
// berth stats shows, computed and formatted as docker stats does, and
// takes those readings at an interval on an injected clock.
package stats
