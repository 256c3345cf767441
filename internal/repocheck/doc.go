// Package repocheck holds tests of the repository itself: that its entry
// points (the Makefile's targets) keep up with the code they run.
package repocheck
