//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// benchDockerfile has 10 steps: FROM and nine that each make a layer or
// set config; app.txt is used at step 7.
const benchDockerfile = `FROM ` + testImage + `
ENV APP=/app
WORKDIR /app
RUN echo one > 1.txt
RUN for i in $(seq 1 200); do echo line $i; done > lines.txt
COPY deps.txt ./
COPY app.txt ./
RUN cat app.txt > copy.txt
RUN ls -l > listing.txt
CMD ["sleep", "600"]
`

// timed runs f b.N times and reports the median and the spread, besides
// Go's mean: one slow run should not hide the typical one.
func timed(b *testing.B, setup func(i int), f func()) {
	b.Helper()
	var runs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if setup != nil {
			setup(i)
		}
		b.StartTimer()
		start := time.Now()
		f()
		runs = append(runs, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	b.ReportMetric(runs[len(runs)/2].Seconds(), "median-s")
	b.ReportMetric(runs[0].Seconds(), "min-s")
	b.ReportMetric(runs[len(runs)-1].Seconds(), "max-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBuild: cold build, no-op rebuild and one-file-changed rebuild
// of a 10-step Dockerfile, each as a whole `berth build` command.
func BenchmarkBuild(b *testing.B) {
	p := newProject(b, "services:\n  app:\n    build: .\n", map[string]string{
		"Dockerfile": benchDockerfile, "deps.txt": "deps", "app.txt": "app 0",
	})
	image := "docker.io/library/" + p.name + "-app:latest"
	b.Cleanup(func() { exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "images", "rm", image).Run() }) //nolint:errcheck // cleanup
	build := func() { p.must("build", "-q") }

	b.Run("cold", func(b *testing.B) {
		timed(b, func(int) { p.must("builder", "prune") }, build)
	})
	b.Run("no-op", func(b *testing.B) {
		build()
		timed(b, nil, build)
	})
	b.Run("one-file-changed", func(b *testing.B) {
		build()
		timed(b, func(i int) { p.write("app.txt", fmt.Sprintf("app %d %d", i, time.Now().UnixNano())) }, build)
	})
}

// BenchmarkBuildUpNoop: `up -d --build` of three small built services when
// nothing changed (docker compose: 4.0 s on the same machine).
func BenchmarkBuildUpNoop(b *testing.B) {
	compose := "services:\n"
	files := map[string]string{}
	for _, s := range []string{"api", "worker", "web"} {
		compose += fmt.Sprintf("  %s:\n    build: ./%s\n    stop_signal: SIGKILL\n", s, s)
		files[s+"/Dockerfile"] = "FROM " + testImage + "\nCOPY main.sh /main.sh\nRUN chmod +x /main.sh\nCMD [\"sleep\", \"600\"]\n"
		files[s+"/main.sh"] = "echo " + s
	}
	p := newProject(b, compose, files)
	b.Cleanup(func() {
		for _, s := range []string{"api", "worker", "web"} {
			exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "images", "rm", "docker.io/library/"+p.name+"-"+s+":latest").Run() //nolint:errcheck // cleanup
		}
	})
	p.must("up", "-d", "--build")
	timed(b, nil, func() { p.must("--progress", "quiet", "up", "-d", "--build") })
}

// BenchmarkUpHealthyChain: `up -d --wait` then `down` of 10 services, each
// depending on the one before with service_healthy (a healthcheck that
// passes at once, interval 1s as in the docker compose comparison).
func BenchmarkUpHealthyChain(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&sb, "  s%d:\n    image: %s\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 1s\n", i, testImage)
		if i > 1 {
			fmt.Fprintf(&sb, "    depends_on:\n      s%d: {condition: service_healthy}\n", i-1)
		}
	}
	p := newProject(b, sb.String(), nil)
	var downs []time.Duration
	timed(b, func(i int) {
		if i > 0 {
			start := time.Now()
			p.must("down")
			downs = append(downs, time.Since(start))
		}
	}, func() { p.must("up", "-d", "--wait") })
	start := time.Now()
	p.must("down")
	downs = append(downs, time.Since(start))
	sort.Slice(downs, func(i, j int) bool { return downs[i] < downs[j] })
	b.ReportMetric(downs[len(downs)/2].Seconds(), "down-median-s")
}

// BenchmarkUpIndependent: `up -d` then `down` of 30 independent services.
func BenchmarkUpIndependent(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&sb, "  s%d:\n    image: %s\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n", i, testImage)
	}
	p := newProject(b, sb.String(), nil)
	var downs []time.Duration
	timed(b, func(i int) {
		if i > 0 {
			start := time.Now()
			p.must("down")
			downs = append(downs, time.Since(start))
		}
	}, func() { p.must("up", "-d") })
	start := time.Now()
	p.must("down")
	downs = append(downs, time.Since(start))
	sort.Slice(downs, func(i, j int) bool { return downs[i] < downs[j] })
	b.ReportMetric(downs[len(downs)/2].Seconds(), "down-median-s")
}
