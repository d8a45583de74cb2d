package api

// Rule is what a field's Go type does not say about its values. Zero values state
// nothing. Strings: MinLen, MaxLen (characters), Pattern, Safe, Format, Enum.
// Integers: Min, Max (MaxSet false: no upper bound), Enum. Lists: MaxItems and Items,
// the rule of each item. Maps: Keys, the fixed names of their members (all present
// when RequireKeys). Free-form objects (json.RawMessage, map[string]any): MaxProps.
type Rule struct {
	// Required: a request must send the field (answers: every field without omitempty).
	Required bool
	// Nullable: an answer field that may be null (pointers without omitempty already are).
	Nullable bool
	// Doc describes a list's item or a variant's field (a field's own is its doc tag).
	Doc string

	MinLen, MaxLen int
	// Trim: blanks at either end are dropped before the other rules (Check keeps the
	// trimmed text).
	Trim    bool
	Pattern string
	// Safe is the internal/safetext character rule of a request's text.
	Safe Safety
	// Format is an OpenAPI string format: "uuid", "date", "uri".
	Format string
	Enum   []string
	// EnumFrom names an enum whose values the server holds (its event catalog); the
	// document builder looks them up.
	EnumFrom string

	Min, Max int64
	MaxSet   bool

	MinItems, MaxItems int
	Unique             bool // no item twice
	Items              *Rule

	Keys        []string
	RequireKeys bool
	MaxProps    int

	// OneOf: the field (an object) is exactly one of these variants, each a subset of
	// its type's fields with their own rules.
	OneOf []Rules
}

// Rules maps a type's JSON field names to their rules.
type Rules map[string]Rule

// Ruled is a wire type with rules.
type Ruled interface{ Rules() Rules }

// Safety selects internal/safetext's rule for a text field.
type Safety int

const (
	NotChecked    Safety = iota
	SafeLine             // one line: no control, bidirectional or invisible characters
	SafeMultiline        // the same, but tab and line breaks
)

// Between is an integer range.
func Between(min, max int64) Rule { return Rule{Min: min, Max: max, MaxSet: true} }

// Text is a string of min..max characters.
func Text(min, max int) Rule { return Rule{MinLen: min, MaxLen: max} }

// Open is a wire type whose readers ignore members they do not know: its schema
// admits them (every other object is strict).
type Open interface{ OpenObject() }
