//go:build race

package report

// raceDetector is true when the tests run under the race detector.
const raceDetector = true
