//go:build race

package results

// raceDetector is true when the tests run under the race detector.
const raceDetector = true
