package agent

import (
	"context"
	"encoding/json"

	"github.com/natlab/natlab/loadgen"
)

// clientRole runs load plans from its host's source addresses.
type clientRole struct{}

func (c *clientRole) register(h Handlers) {
	h[OpLoadRun] = func(ctx context.Context, args json.RawMessage, emit Emitter) (any, error) {
		var plan loadgen.Plan
		if err := Decode(args, &plan); err != nil {
			return nil, err
		}
		return loadgen.Run(ctx, plan, func(s loadgen.Sample) { emit(EventSample, s) })
	}
}
