package models_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// backend names a database the Store runs on; dsn gives a fresh, empty one.
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

// backends run the very same tests. PostgreSQL is skipped unless configured (see
// internal/pgtest).
var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyward.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// storeTests is the conformance suite. Tests share one store per backend and run in
// parallel, so each works on its own owner and lookup ids.
var storeTests = []struct {
	name string
	run  func(t *testing.T, s *models.Store)
}{
	{"CreateKey_ThenKeyByID_ReturnsEveryField", testCreateThenByID},
	{"CreateKey_SetsUUIDAndTimes", testCreateSetsIDAndTimes},
	{"CreateKey_Disabled_StaysDisabled", testCreateDisabled},
	{"CreateKey_DuplicateLookupID_AlreadyExists", testDuplicateLookupID},
	{"CreateKey_LookupIDOfDeletedKey_AlreadyExists", testLookupIDOfDeletedKey},
	{"CreateKey_DuplicateID_AlreadyExists", testDuplicateID},
	{"CreateKey_TextNeitherBackendCanStore_Refused", testCreateRefusesUnstorableText},
	{"CreateKey_SecretHashNot32Bytes_Refused", testCreateRefusesBadHash},
	{"CreateKey_Times_StoredUTCToTheMicrosecond", testTimesRoundTrip},
	{"KeyByID_Owner_Found", testKeyByIDOwner},
	{"KeyByID_UppercaseID_Found", testKeyByIDUppercase},
	{"KeyByID_OtherOwner_NotFound", testKeyByIDOtherOwner},
	{"KeyByID_NotAUUID_NotFound", testKeyByIDNotUUID},
	{"KeyForExchange_ExchangeFieldsOfLiveKeysOnly", testKeyForExchange},
	{"DeleteKey_OtherOwner_NotFound", testDeleteOtherOwner},
	{"DeleteKey_Twice_NotFound", testDeleteTwice},
	{"DeleteKey_NotAUUID_NotFound", testDeleteNotUUID},
	{"DeletedKey_InvisibleToEveryRead", testDeletedInvisible},
	{"ListKeys_Desc_NewestFirst_OwnLiveKeysOnly", testListOrder},
	{"ListKeys_NoKeys_EmptyNotNil", testListEmpty},
	{"RecordUsage_LastUsed_NeverMovesBackwards", testLastUsedNeverBackwards},
	{"RecordUsage_LastUsed_Batch_UpdatesEachKey_IgnoresUnknown", testLastUsedBatch},
	{"HostileStrings_StoredAndReadBackAsData", testHostileStrings},
	// keys_lifecycle_test.go
	{"CreateKey_Metadata_EmptyBecomesEmptyObject_ObjectKept", testMetadataDefault},
	{"CreateKey_MetadataNotAJSONObject_Refused", testMetadataNotObject},
	{"CreateKey_DuplicateLiveName_AlreadyExists_OtherOwnerMayReuse", testDuplicateLiveName},
	{"CreateKey_NameOfDeletedKey_Free", testNameFreeAfterDelete},
	{"CreateKey_NameOfSupersededKey_Free", testNameFreeAfterRotation},
	{"CreateKey_ConcurrentSameName_ExactlyOneWins", testConcurrentSameName},
	{"KeyByID_AnyOwner_Found", testKeyByIDAnyOwner},
	{"DeleteKey_AnyOwner_Deletes", testDeleteAnyOwner},
	{"UpdateKey_SavesChanges_KeepsIdentity", testUpdateSaves},
	{"UpdateKey_ClearsOptionalTimes", testUpdateClearsTimes},
	{"UpdateKey_FnError_ReturnedAndNothingSaved", testUpdateFnError},
	{"UpdateKey_NameTaken_AlreadyExists", testUpdateNameTaken},
	{"UpdateKey_InvalidResult_RefusedAndNothingSaved", testUpdateInvalid},
	{"UpdateKey_OtherOwnerDeletedOrBadID_NotFound", testUpdateNotFound},
	{"UpdateKey_AnyOwner_Updates", testUpdateAnyOwner},
	{"UpdateKey_ConcurrentIncrements_NoneLost", testUpdateNoLostUpdate},
	{"RotateKey_SupersedesOldAndInsertsNew", testRotate},
	{"RotateKey_GraceCapsExpiry", testRotateGraceCapsExpiry},
	{"RotateKey_Twice_Conflict", testRotateTwice},
	{"RotateKey_OtherOwnerDeletedOrUnknown_NotFound", testRotateNotFound},
	{"RotateKey_AnyOwner_NewKeyTakesOldOwner", testRotateAnyOwner},
	{"RotateKey_NewKeyRefused_OldKeyUnchanged", testRotateNewKeyRefused},
	{"RotateKey_50Concurrent_ExactlyOneWins", testRotateRace},
	// keys_list_test.go
	{"ListKeys_Status_Boundaries", testListStatus},
	{"ListKeys_Expires_Boundaries", testListExpires},
	{"ListKeys_Environment_Exact", testListEnvironment},
	{"ListKeys_Query_CaseInsensitiveSubstring", testListQuery},
	{"ListKeys_Query_WildcardsAndHostileTextAreData", testListQueryHostile},
	{"ListKeys_AnyOwner_ListsEveryOwner", testListAnyOwner},
	{"ListKeys_Sort_EachColumnBothWays_NullsLast", testListSort},
	{"ListKeys_Paging_CoversAllOnce", testListPaging},
	{"ListKeys_Limit_Default50_Max100", testListLimits},
	{"ListKeys_InvalidFilter_Refused", testListInvalid},
	{"ListKeys_SupersededListed_DeletedNot", testListSuperseded},
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			if got := s.Backend(); got != b.name {
				t.Fatalf("Backend() = %q, want %q", got, b.name)
			}
			for _, tc := range storeTests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, s)
				})
			}
		})
	}
}

func openStore(t *testing.T, dsn string, log *zap.Logger) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), dsn, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newOwner() string { return "owner-" + uuid.NewString() }

// newKey is a valid key of owner with a unique lookup id and name.
func newKey(owner string) *models.Key {
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	return &models.Key{
		OwnerID:       owner,
		OwnerUsername: "alice",
		Name:          "ci-" + uuid.NewString()[:8],
		Description:   "deploys from CI",
		LookupID:      "lk_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		SecretHash:    hash,
		Environment:   "production",
		Scopes:        "read write",
		Enabled:       true,
	}
}

func mustCreate(t *testing.T, s *models.Store, k *models.Key) *models.Key {
	t.Helper()
	if err := s.CreateKey(context.Background(), k); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return k
}

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", op, err, want)
	}
}

func equalKeys(t *testing.T, got, want models.Key) {
	t.Helper()
	eqTime := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if got.ID != want.ID || got.OwnerID != want.OwnerID || got.OwnerUsername != want.OwnerUsername ||
		got.Name != want.Name || got.Description != want.Description || got.LookupID != want.LookupID ||
		!bytes.Equal(got.SecretHash, want.SecretHash) || got.Environment != want.Environment ||
		got.Scopes != want.Scopes || got.Enabled != want.Enabled || got.Metadata != want.Metadata ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		!eqTime(got.ExpiresAt, want.ExpiresAt) || !eqTime(got.DeletedAt, want.DeletedAt) ||
		!eqTime(got.LastUsedAt, want.LastUsedAt) || !eqTime(got.GraceUntil, want.GraceUntil) ||
		(got.RotatedTo == nil) != (want.RotatedTo == nil) ||
		(got.RotatedTo != nil && *got.RotatedTo != *want.RotatedTo) {
		t.Fatalf("key read back differs:\n got %+v\nwant %+v", got, want)
	}
}

func testCreateThenByID(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := newKey(newOwner())
	exp := time.Now().Add(365 * 24 * time.Hour)
	k.ExpiresAt = &exp
	mustCreate(t, s, k)

	got, err := s.KeyByID(ctx, k.OwnerID, k.ID)
	if err != nil {
		t.Fatalf("KeyByID: %v", err)
	}
	equalKeys(t, got, *k)
}

func testCreateSetsIDAndTimes(t *testing.T, s *models.Store) {
	before := time.Now().Add(-time.Second)
	k := mustCreate(t, s, newKey(newOwner()))
	if u, err := uuid.Parse(k.ID); err != nil || u.Version() != 4 {
		t.Errorf("ID = %q, want a UUID v4", k.ID)
	}
	if k.CreatedAt.Before(before) || !k.UpdatedAt.Equal(k.CreatedAt) {
		t.Errorf("CreatedAt = %v, UpdatedAt = %v; want now, and equal", k.CreatedAt, k.UpdatedAt)
	}
	if k.ExpiresAt != nil || k.LastUsedAt != nil || k.DeletedAt != nil {
		t.Errorf("nil times became %v %v %v", k.ExpiresAt, k.LastUsedAt, k.DeletedAt)
	}
}

func testCreateDisabled(t *testing.T, s *models.Store) {
	k := newKey(newOwner())
	k.Enabled = false
	mustCreate(t, s, k)
	got, err := s.KeyByID(context.Background(), k.OwnerID, k.ID)
	if err != nil {
		t.Fatalf("KeyByID: %v", err)
	}
	if got.Enabled {
		t.Fatal("a key created disabled reads back enabled")
	}
}

func testDuplicateLookupID(t *testing.T, s *models.Store) {
	first := mustCreate(t, s, newKey(newOwner()))
	dup := newKey(newOwner())
	dup.LookupID = first.LookupID
	wantErr(t, "CreateKey", s.CreateKey(context.Background(), dup), models.ErrAlreadyExists)

	got, err := s.KeyForExchange(context.Background(), first.LookupID)
	if err != nil || got.ID != first.ID {
		t.Fatalf("after the refused duplicate, lookup gives %v, %v; want the first key", got.ID, err)
	}
}

func testLookupIDOfDeletedKey(t *testing.T, s *models.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, newKey(newOwner()))
	if err := s.DeleteKey(ctx, first.OwnerID, first.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	again := newKey(first.OwnerID)
	again.LookupID = first.LookupID
	wantErr(t, "CreateKey", s.CreateKey(ctx, again), models.ErrAlreadyExists)
}

func testDuplicateID(t *testing.T, s *models.Store) {
	first := mustCreate(t, s, newKey(newOwner()))
	dup := newKey(first.OwnerID)
	dup.ID = first.ID
	wantErr(t, "CreateKey", s.CreateKey(context.Background(), dup), models.ErrAlreadyExists)
}

func testCreateRefusesUnstorableText(t *testing.T, s *models.Store) {
	for name, mutate := range map[string]func(k *models.Key){
		"NUL in name":             func(k *models.Key) { k.Name = "a\x00b" },
		"invalid UTF-8 in scopes": func(k *models.Key) { k.Scopes = "read \xff" },
		"NUL in lookup id":        func(k *models.Key) { k.LookupID += "\x00" },
		"empty owner":             func(k *models.Key) { k.OwnerID = "" },
		"empty lookup id":         func(k *models.Key) { k.LookupID = "" },
		"id not a UUID":           func(k *models.Key) { k.ID = "not-a-uuid" },
	} {
		t.Run(name, func(t *testing.T) {
			k := newKey(newOwner())
			mutate(k)
			err := s.CreateKey(context.Background(), k)
			if err == nil || errors.Is(err, models.ErrAlreadyExists) {
				t.Fatalf("CreateKey = %v, want a validation error", err)
			}
			if k.OwnerID != "" { // "" would list every owner
				if keys, _ := s.ListKeys(context.Background(), models.KeyFilter{OwnerID: k.OwnerID}); len(keys) != 0 {
					t.Fatalf("refused key was stored: %+v", keys)
				}
			}
			if _, err := s.KeyForExchange(context.Background(), k.LookupID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("refused key found by lookup id: %v", err)
			}
		})
	}
}

func testCreateRefusesBadHash(t *testing.T, s *models.Store) {
	for _, n := range []int{0, 31, 33, 64} {
		k := newKey(newOwner())
		k.SecretHash = make([]byte, n)
		if err := s.CreateKey(context.Background(), k); err == nil {
			t.Errorf("CreateKey with a %d-byte hash succeeded", n)
		}
	}
}

func testTimesRoundTrip(t *testing.T, s *models.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	created := time.Date(2024, 2, 29, 23, 59, 58, 123456789, zone)
	expires := created.Add(90 * 24 * time.Hour)
	k := newKey(newOwner())
	k.CreatedAt, k.ExpiresAt = created, &expires
	mustCreate(t, s, k)

	got, err := s.KeyByID(context.Background(), k.OwnerID, k.ID)
	if err != nil {
		t.Fatalf("KeyByID: %v", err)
	}
	wantCreated := created.UTC().Truncate(time.Microsecond)
	if got.CreatedAt != wantCreated || got.CreatedAt != k.CreatedAt {
		t.Errorf("CreatedAt = %v (CreateKey set %v), want %v", got.CreatedAt, k.CreatedAt, wantCreated)
	}
	if want := expires.UTC().Truncate(time.Microsecond); got.ExpiresAt == nil || *got.ExpiresAt != want {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want)
	}
}

func testKeyByIDOwner(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	got, err := s.KeyByID(context.Background(), k.OwnerID, k.ID)
	if err != nil {
		t.Fatalf("KeyByID: %v", err)
	}
	equalKeys(t, got, *k)
}

func testKeyByIDUppercase(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	got, err := s.KeyByID(context.Background(), k.OwnerID, strings.ToUpper(k.ID))
	if err != nil || got.ID != k.ID {
		t.Fatalf("KeyByID(upper-case id) = %q, %v; want %q", got.ID, err, k.ID)
	}
}

func testKeyByIDOtherOwner(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	_, err := s.KeyByID(context.Background(), newOwner(), k.ID)
	wantErr(t, "KeyByID", err, models.ErrNotFound)
}

// badIDs are not UUIDs: each must be a plain ErrNotFound, never a database error.
var badIDs = []string{
	"", "1", "abc", "1 OR 1=1", "'; DROP TABLE api_keys; --",
	"00000000-0000-0000-0000-00000000000g", strings.Repeat("a", 36), strings.Repeat("9", 10000),
	"\x00", "\xff\xfe", "🔑",
}

func testKeyByIDNotUUID(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	for _, id := range badIDs {
		_, err := s.KeyByID(context.Background(), k.OwnerID, id)
		wantErr(t, "KeyByID("+short(id)+")", err, models.ErrNotFound)
	}
}

func testDeleteOtherOwner(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := mustCreate(t, s, newKey(newOwner()))
	wantErr(t, "DeleteKey", s.DeleteKey(ctx, newOwner(), k.ID, time.Now()), models.ErrNotFound)
	if _, err := s.KeyByID(ctx, k.OwnerID, k.ID); err != nil {
		t.Fatalf("key gone after another owner's delete: %v", err)
	}
}

func testDeleteTwice(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := mustCreate(t, s, newKey(newOwner()))
	if err := s.DeleteKey(ctx, k.OwnerID, k.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	wantErr(t, "second DeleteKey", s.DeleteKey(ctx, k.OwnerID, k.ID, time.Now()), models.ErrNotFound)
}

func testDeleteNotUUID(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	for _, id := range badIDs {
		err := s.DeleteKey(context.Background(), k.OwnerID, id, time.Now())
		wantErr(t, "DeleteKey("+short(id)+")", err, models.ErrNotFound)
	}
}

func testDeletedInvisible(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	gone := mustCreate(t, s, newKey(owner))
	kept := mustCreate(t, s, newKey(owner))
	if err := s.DeleteKey(ctx, owner, gone.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}

	_, err := s.KeyForExchange(ctx, gone.LookupID)
	wantErr(t, "KeyForExchange", err, models.ErrNotFound)
	_, err = s.KeyByID(ctx, owner, gone.ID)
	wantErr(t, "KeyByID", err, models.ErrNotFound)
	keys, err := s.ListKeys(ctx, models.KeyFilter{OwnerID: owner})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].ID != kept.ID {
		t.Fatalf("ListKeys = %v, want only the live key %s", ids(keys), kept.ID)
	}
}

func testListOrder(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	t0 := time.Now().Add(-time.Hour)
	create := func(at time.Time) *models.Key {
		k := newKey(owner)
		k.CreatedAt = at
		return mustCreate(t, s, k)
	}
	// Inserted out of order, so that insertion order cannot pass for time order.
	middle := create(t0.Add(time.Minute))
	oldest := create(t0)
	newest := create(t0.Add(2 * time.Minute))
	deleted := create(t0.Add(3 * time.Minute))
	if err := s.DeleteKey(ctx, owner, deleted.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	mustCreate(t, s, newKey(newOwner())) // another owner's

	keys, err := s.ListKeys(ctx, models.KeyFilter{OwnerID: owner, Desc: true})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	got, want := ids(keys), []string{newest.ID, middle.ID, oldest.ID}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ListKeys order = %v, want newest first %v", got, want)
	}
}

func testListEmpty(t *testing.T, s *models.Store) {
	keys, err := s.ListKeys(context.Background(), models.KeyFilter{OwnerID: newOwner()})
	if err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("ListKeys = %#v, %v; want an empty, non-nil list", keys, err)
	}
}

func testLastUsedNeverBackwards(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := mustCreate(t, s, newKey(newOwner()))
	t1 := time.Now().UTC().Truncate(time.Microsecond)
	// Sub-second steps: SQLite compares stored text, so fractions must order right.
	steps := []struct {
		touch, want time.Time
	}{
		{t1, t1},
		{t1.Add(-time.Hour), t1},        // older: ignored
		{t1.Add(-time.Microsecond), t1}, // a hair older: ignored
		{t1.Add(500 * time.Millisecond), t1.Add(500 * time.Millisecond)},
		{t1.Add(450 * time.Millisecond), t1.Add(500 * time.Millisecond)},
		{t1.Add(time.Second), t1.Add(time.Second)}, // whole second after a fraction
	}
	for i, st := range steps {
		if err := s.RecordUsage(ctx, lastUsed(map[string]time.Time{k.ID: st.touch})); err != nil {
			t.Fatalf("step %d: RecordUsage: %v", i, err)
		}
		got, err := s.KeyByID(ctx, k.OwnerID, k.ID)
		if err != nil {
			t.Fatalf("step %d: KeyByID: %v", i, err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(st.want) {
			t.Fatalf("step %d: touched %v, LastUsedAt = %v, want %v", i, st.touch, got.LastUsedAt, st.want)
		}
		if !got.UpdatedAt.Equal(k.UpdatedAt) {
			t.Fatalf("step %d: UpdatedAt moved to %v: a use is not an update", i, got.UpdatedAt)
		}
	}
}

func testLastUsedBatch(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	a, b := mustCreate(t, s, newKey(owner)), mustCreate(t, s, newKey(owner))
	ta := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	tb := ta.Add(30 * time.Second)
	err := s.RecordUsage(ctx, lastUsed(map[string]time.Time{
		a.ID: ta, b.ID: tb, uuid.NewString(): tb, "not-a-uuid": tb,
	}))
	if err != nil {
		t.Fatalf("RecordUsage: %v", err)
	}
	if err := s.RecordUsage(ctx, models.UsageBatch{}); err != nil {
		t.Fatalf("RecordUsage(empty): %v", err)
	}
	for _, want := range []struct {
		k  *models.Key
		at time.Time
	}{{a, ta}, {b, tb}} {
		got, err := s.KeyByID(ctx, owner, want.k.ID)
		if err != nil {
			t.Fatalf("KeyByID: %v", err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(want.at) {
			t.Errorf("key %s: LastUsedAt = %v, want %v", got.ID, got.LastUsedAt, want.at)
		}
	}
}

// lastUsed is a usage batch of last-use times only.
func lastUsed(at map[string]time.Time) models.UsageBatch {
	b := models.UsageBatch{LastUsed: make(map[string]models.KeyUse, len(at))}
	for id, t := range at {
		b.LastUsed[id] = models.KeyUse{At: t, IP: "192.0.2.1"}
	}
	return b
}

func testHostileStrings(t *testing.T, s *models.Store) {
	ctx := context.Background()
	hostile := []string{
		"'; DROP TABLE api_keys; --",
		"Robert'); DROP TABLE api_keys;--",
		`" OR ""="`,
		`\'; SELECT 1; --`,
		"% _ [a-z]", // LIKE wildcards must stay literal
		"$1 ? :name @p1",
		"ключ 🔑 键 مفتاح",
		"e\u0301 \u200b\u202e 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
		strings.Repeat("ü", 2000),
	}
	for i, v := range hostile {
		k := newKey(v + "-" + uuid.NewString()) // the owner id too is data
		k.OwnerUsername, k.Name, k.Description, k.Scopes = v, v, v, v
		k.LookupID = v + "-" + uuid.NewString()
		mustCreate(t, s, k)

		byLookup, err := s.KeyForExchange(ctx, k.LookupID)
		if err != nil || byLookup.ID != k.ID || byLookup.OwnerID != k.OwnerID || byLookup.Scopes != k.Scopes {
			t.Fatalf("%d: KeyForExchange = %+v, %v; want the exchange fields of %+v", i, byLookup, err, *k)
		}
		byID, err := s.KeyByID(ctx, k.OwnerID, k.ID)
		if err != nil {
			t.Fatalf("%d: KeyByID: %v", i, err)
		}
		equalKeys(t, byID, *k)
		list, err := s.ListKeys(ctx, models.KeyFilter{OwnerID: k.OwnerID, Query: v, MatchOwner: true})
		if err != nil || len(list) != 1 {
			t.Fatalf("%d: ListKeys = %d keys, %v; want 1", i, len(list), err)
		}
		// The value as a whole owner id or lookup id matches nothing.
		if list, _ := s.ListKeys(ctx, models.KeyFilter{OwnerID: v}); len(list) != 0 {
			t.Fatalf("%d: ListKeys(%q) matched %d keys", i, v, len(list))
		}
		_, err = s.KeyForExchange(ctx, v)
		wantErr(t, "KeyForExchange(hostile)", err, models.ErrNotFound)
	}
}

func ids(keys []models.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// short quotes an input for a failure message, cut to a readable length.
func short(s string) string { return fmt.Sprintf("%.40q", s) }

func testKeyForExchange(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := newKey(newOwner())
	exp := time.Now().Add(24 * time.Hour)
	k.ExpiresAt, k.IPAllowlist, k.RateLimitRequests, k.RateLimitWindowSeconds = &exp, "203.0.113.0/24", 7, 60
	k.Roles = models.JoinKeyRoles([]models.KeyRole{{ID: "r1", Name: "reports-read"}, {ID: "r2", Client: "shop-api", Name: "orders-read"}})
	mustCreate(t, s, k)
	got, err := s.KeyForExchange(ctx, k.LookupID)
	if err != nil {
		t.Fatalf("KeyForExchange: %v", err)
	}
	if got.ID != k.ID || got.OwnerID != k.OwnerID || !bytes.Equal(got.SecretHash, k.SecretHash) ||
		!got.Enabled || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*k.ExpiresAt) ||
		got.ExpiresAt.Location() != time.UTC || got.Scopes != k.Scopes || got.IPAllowlist != k.IPAllowlist ||
		got.RateLimitRequests != 7 || got.RateLimitWindowSeconds != 60 || got.Roles != k.Roles ||
		!slices.Equal(got.RoleIDs(), []string{"r1", "r2"}) {
		t.Fatalf("KeyForExchange = %+v, want the exchange fields of %+v", got, *k)
	}
	never := mustCreate(t, s, newKey(newOwner()))
	if got, err := s.KeyForExchange(ctx, never.LookupID); err != nil || got.ExpiresAt != nil || got.RoleIDs() != nil {
		t.Fatalf("key that never expires: %+v, %v", got.ExpiresAt, err)
	}
	if err := s.DeleteKey(ctx, k.OwnerID, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{k.LookupID, "", "lk_unknown", "' OR '1'='1", "%", "\x00", "\xff"} {
		_, err := s.KeyForExchange(ctx, id)
		wantErr(t, "KeyForExchange("+short(id)+")", err, models.ErrNotFound)
	}
}
