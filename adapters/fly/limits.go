package fly

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The bounds on a .fly file. HCL's parser, and the evaluation and walks of
// the expressions it builds, recurse once per level of nesting, and a Go
// stack overflow is fatal (no recover catches it): a file nested deeply
// enough would kill the process that parses it, at every sync. So a file's
// size and nesting are checked before the parser sees it, and a file over
// either bound gets one diagnostic and is not parsed.
const (
	// MaxFileSize is the largest .fly file parsed, in bytes (8 MiB: a file
	// of 10,000 eggs of 600 bytes fits; a Nest's files are a few KiB each).
	MaxFileSize = 8 << 20

	// MaxNesting is how deep an expression or block may nest. Every level
	// counts one: a parenthesis, bracket or brace (blocks, objects, tuples,
	// function calls, for expressions, indexing), a template interpolation
	// ${...} or directive %{if}/%{for}, and every operator of one
	// expression (unary ! and -, binary operators, the ? of a conditional:
	// a chain of them is evaluated recursively, one level per operator).
	// A comma or a new line in a block or object starts the count of
	// operators again. Local values that use each other count one level
	// per local.
	MaxNesting = 100

	// MaxDiagnosticsPerFile is how many diagnostics a file reports; one
	// more says how many were left out.
	MaxDiagnosticsPerFile = 100
)

// nestingBytes are the bytes that every token of a nesting level holds at
// least one of (`==` aside, counted as a pair): an opener, an operator or an
// index. Their count in a file is an upper bound of its nesting.
var nestingBytes = func() (t [256]bool) {
	for _, c := range []byte("([{!-?+*/%<>&|") {
		t[c] = true
	}
	return t
}()

// CheckSource reports a file over MaxFileSize or nested deeper than
// MaxNesting, with one diagnostic: where the bound is crossed. Every parse
// of this package checks it first; a caller that parses a .fly file with
// hcl itself (gosling fmt, through hclwrite) must call it before.
func CheckSource(filename string, src []byte) hcl.Diagnostics {
	if len(src) > MaxFileSize {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "File too large",
			Detail:  fmt.Sprintf("This file is %d bytes; a .fly file holds at most %d bytes (%d MiB), so it was not parsed.", len(src), MaxFileSize, MaxFileSize>>20),
			Subject: fileStart(filename).Ptr(),
		}}
	}
	// The cheap bound: most files hold fewer nesting bytes than MaxNesting
	// in all, and then cannot nest deeper.
	n := 0
	for i, c := range src {
		if nestingBytes[c] || c == '=' && i+1 < len(src) && src[i+1] == '=' {
			n++
		}
	}
	if n <= MaxNesting {
		return nil
	}
	return checkNesting(filename, src)
}

// frame is one open level of nesting while scanning tokens.
type frame struct {
	open      hclsyntax.TokenType
	weight    int  // 1, or 0 for a quoted string or heredoc (its ${ count)
	ops       int  // operators since the last comma or significant new line
	directive int  // open %{if}/%{for} directives (in a string or heredoc)
	opens     bool // a %{ that opens an if or for directive
}

// checkNesting measures nesting exactly on the tokens (the lexer is
// iterative) and reports the first token past MaxNesting.
func checkNesting(filename string, src []byte) hcl.Diagnostics {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	// stack[0] is the file's body: new lines end its expressions, as in a block.
	stack := []frame{{open: hclsyntax.TokenOBrace}}
	depth := 0
	top := func() *frame { return &stack[len(stack)-1] }
	resetOps := func() {
		f := top()
		depth -= f.ops
		f.ops = 0
	}
	var prev hclsyntax.TokenType
	for i := range toks {
		t := &toks[i]
		switch t.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack, hclsyntax.TokenOBrace,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			if t.Type == hclsyntax.TokenOBrack && endsValue(prev) {
				top().ops++ // an index: the indexed value is one more level
				depth++
			}
			w := 1
			if t.Type == hclsyntax.TokenOQuote || t.Type == hclsyntax.TokenOHeredoc {
				w = 0
			}
			stack = append(stack, frame{open: t.Type, weight: w})
			depth += w
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			if len(stack) > 1 {
				f := top()
				depth -= f.weight + f.ops + f.directive
				stack = stack[:len(stack)-1]
				if f.opens {
					top().directive++
					depth++
				}
			}
		case hclsyntax.TokenIdent:
			if f := top(); f.open == hclsyntax.TokenTemplateControl && prev == hclsyntax.TokenTemplateControl {
				switch string(t.Bytes) {
				case "if", "for":
					f.opens = true
				case "endif", "endfor":
					if len(stack) > 1 {
						if p := &stack[len(stack)-2]; p.directive > 0 {
							p.directive--
							depth--
						}
					}
				}
			}
		case hclsyntax.TokenPlus, hclsyntax.TokenMinus, hclsyntax.TokenStar, hclsyntax.TokenSlash, hclsyntax.TokenPercent,
			hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual, hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq,
			hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq, hclsyntax.TokenAnd, hclsyntax.TokenOr,
			hclsyntax.TokenBang, hclsyntax.TokenQuestion:
			top().ops++
			depth++
		case hclsyntax.TokenComma:
			resetOps()
		case hclsyntax.TokenNewline, hclsyntax.TokenComment:
			if t.Type == hclsyntax.TokenComment && (len(t.Bytes) == 0 || t.Bytes[len(t.Bytes)-1] != '\n') {
				break
			}
			if top().open == hclsyntax.TokenOBrace {
				resetOps()
			}
		}
		if depth > MaxNesting {
			rng := t.Range
			return hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "Nesting too deep",
				Detail: fmt.Sprintf("This file nests more than %d levels deep here (parentheses, brackets, braces, blocks, template interpolations and directives, and the operators of one expression each count a level), so it was not parsed. Split the expression, for instance with local values.",
					MaxNesting),
				Subject: &rng,
			}}
		}
		if t.Type != hclsyntax.TokenNewline && t.Type != hclsyntax.TokenComment {
			prev = t.Type
		}
	}
	return nil
}

// endsValue reports whether a token of type t can end a value, so that a
// bracket after it is an index rather than a tuple.
func endsValue(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenIdent, hclsyntax.TokenNumberLit, hclsyntax.TokenCParen, hclsyntax.TokenCBrack,
		hclsyntax.TokenCBrace, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenStar:
		return true
	}
	return false
}
