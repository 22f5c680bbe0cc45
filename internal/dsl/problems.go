package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/workflow"
)

// problems collects every validation problem of a document, so that one
// attempt to save it reports all of them.
type problems struct {
	list []workflow.FieldError
	seen map[workflow.FieldError]bool
}

// add records a problem at a JSON pointer. Identical problems are recorded
// once.
func (p *problems) add(path, format string, args ...any) {
	fe := workflow.FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
	if p.seen == nil {
		p.seen = map[workflow.FieldError]bool{}
	}
	if p.seen[fe] {
		return
	}
	p.seen[fe] = true
	p.list = append(p.list, fe)
}

// at reports whether a problem was recorded at path or below it.
func (p *problems) at(path string) bool {
	for _, fe := range p.list {
		if fe.Path == path || strings.HasPrefix(fe.Path, path+"/") {
			return true
		}
	}
	return false
}

// exactlyAt reports whether a problem was recorded at path itself.
func (p *problems) exactlyAt(path string) bool {
	return slices.ContainsFunc(p.list, func(fe workflow.FieldError) bool { return fe.Path == path })
}

// err returns nil without problems, else an EINVALID *workflow.Error whose
// fields are sorted by where they appear in the document (problems at the
// same place keep the order they were found in).
func (p *problems) err(t *tree) error {
	if len(p.list) == 0 {
		return nil
	}
	fields := slices.Clone(p.list)
	if t != nil {
		slices.SortStableFunc(fields, func(a, b workflow.FieldError) int {
			return t.offset(a.Path) - t.offset(b.Path)
		})
	}
	msg := "invalid workflow definition: 1 problem"
	if len(fields) > 1 {
		msg = fmt.Sprintf("invalid workflow definition: %d problems", len(fields))
	}
	return workflow.Invalid(msg, fields...)
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo, else "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", len(s)/2+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
