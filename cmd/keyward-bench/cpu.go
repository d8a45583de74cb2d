package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times (100 on every
// architecture Go supports).
const clockTicks = 100

// watched is a process whose CPU use is reported per row, its children included
// (Keycloak's kc.sh runs the JVM as a child).
type watched struct {
	name string
	pid  int
}

func parseWatch(s string) ([]watched, error) {
	var ws []watched
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, pidText, ok := strings.Cut(part, "=")
		pid, err := strconv.Atoi(pidText)
		if !ok || name == "" || err != nil || pid <= 0 {
			return nil, fmt.Errorf("-watch: %q is not name=pid", part)
		}
		ws = append(ws, watched{name, pid})
	}
	return ws, nil
}

// cpuSample is the CPU seconds used so far by each watched process tree, then by this
// process, at one instant.
type cpuSample struct {
	at      time.Time
	seconds []float64
}

func (b *bench) cpuSnapshot() cpuSample {
	procs := readProcs()
	s := cpuSample{at: time.Now()}
	for _, w := range b.watched {
		s.seconds = append(s.seconds, treeCPU(procs, w.pid))
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.seconds = append(s.seconds, self.Seconds())
	return s
}

// cpuUse is the cores each process kept busy between two samples.
func cpuUse(from, to cpuSample) []float64 {
	wall := to.at.Sub(from.at).Seconds()
	if wall <= 0 || len(from.seconds) != len(to.seconds) {
		return nil
	}
	out := make([]float64, len(to.seconds))
	for i := range out {
		out[i] = (to.seconds[i] - from.seconds[i]) / wall
	}
	return out
}

type proc struct {
	ppid int
	cpu  float64 // utime + stime, seconds
}

// readProcs reads every process's parent and CPU time from /proc; processes that end
// meanwhile are skipped.
func readProcs() map[int]proc {
	procs := map[int]proc{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid … utime stime …": comm may hold spaces and parentheses.
		text := string(data)
		open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
		if open < 0 || end < open {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(text[:open]))
		if err != nil {
			continue
		}
		f := strings.Fields(text[end+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		procs[pid] = proc{ppid: ppid, cpu: (utime + stime) / clockTicks}
	}
	return procs
}

// treeCPU is the CPU time of pid and of all its living descendants.
func treeCPU(procs map[int]proc, pid int) float64 {
	total := procs[pid].cpu
	for child, p := range procs {
		if p.ppid == pid && child != pid {
			total += treeCPU(procs, child)
		}
	}
	return total
}
