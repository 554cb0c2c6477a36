package main

// loadMeter measures the machine's CPU and memory load for the heartbeat
// (UglyFox's Apex thresholds read them). measure returns nil for what it
// cannot measure on this OS or at this moment; the heartbeat then omits it.
type loadMeter interface {
	measure() (cpuPercent, memoryPercent *float64)
}

// clampPercent keeps a measured share in 0..100 (rounding can overshoot).
func clampPercent(p float64) *float64 {
	p = min(max(p, 0), 100)
	return &p
}
