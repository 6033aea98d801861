package hostproc

// StartTicks is when process pid started, in clock ticks after boot: with
// the pid, it names one process for good, as a pid alone is reused once
// the process is gone. A process that does not exist is an error.
func (d Dir) StartTicks(pid int) (uint64, error) {
	st, err := d.stat(pid)
	if err != nil {
		return 0, err
	}
	return st.start, nil
}
