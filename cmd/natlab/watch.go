package main

import (
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed/sampler"
)

// watchRuns, when set, sees every run `natlab run` plays, beside the
// metrics endpoint: the full-scale tests read each NAT sample as the
// sampler took it and compare it with the NAT's own conntrack count.
var watchRuns runner.Watcher

// teeWatchers is one watcher that hands everything to each of ws that is
// not nil; nil when none is.
func teeWatchers(ws ...runner.Watcher) runner.Watcher {
	var set tee
	for _, w := range ws {
		if w != nil {
			set = append(set, w)
		}
	}
	switch len(set) {
	case 0:
		return nil
	case 1:
		return set[0]
	}
	return set
}

type tee []runner.Watcher

func (t tee) Begin(i runner.RunInfo) {
	for _, w := range t {
		w.Begin(i)
	}
}

func (t tee) Sample(s loadgen.Sample) {
	for _, w := range t {
		w.Sample(s)
	}
}

func (t tee) Tick(c runner.ClientTick, s sampler.Sample) {
	for _, w := range t {
		w.Tick(c, s)
	}
}

func (t tee) Marker(m chaos.Marker) {
	for _, w := range t {
		w.Marker(m)
	}
}
