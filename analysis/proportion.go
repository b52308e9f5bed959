package analysis

import "math"

// Proportion is k of n repetitions with a property, and the Clopper-Pearson
// ("exact") confidence interval for the probability behind it: the
// conservative interval from the binomial distribution itself, right for
// the handful of repetitions a benchmark has, where the normal
// approximation (Wald) gives nonsense such as [0, 0] for 0 of 2.
type Proportion struct {
	K, N       int
	Lo, Hi     float64
	Confidence float64
}

// ProportionOf is k of n with its interval at Confidence.
func ProportionOf(k, n int) Proportion {
	p := Proportion{K: k, N: n, Lo: 0, Hi: 1, Confidence: Confidence}
	if n == 0 {
		return p
	}
	alpha := 1 - Confidence
	if k > 0 {
		// The lowest p under which k or more is still as likely as α/2.
		p.Lo = bisect(func(x float64) bool { return binomialAtLeast(k, n, x) < alpha/2 })
	}
	if k < n {
		// The highest p under which k or fewer is still as likely as α/2.
		p.Hi = bisect(func(x float64) bool { return 1-binomialAtLeast(k+1, n, x) >= alpha/2 })
	}
	return p
}

// bisect finds the boundary in [0, 1] where below is true just below it
// and false above, to within 1e-12.
func bisect(below func(float64) bool) float64 {
	lo, hi := 0.0, 1.0
	for hi-lo > 1e-12 {
		mid := (lo + hi) / 2
		if below(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// binomialAtLeast is P(X ≥ k) for X ~ Bin(n, p).
func binomialAtLeast(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	var sum float64
	for i := k; i <= n; i++ {
		sum += math.Exp(lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1) + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return min(sum, 1)
}
