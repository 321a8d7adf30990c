import dataclasses
import logging
import threading
from datetime import date, datetime, timezone

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import associated_data, key_id_of
from crypto.errors import DecryptionError, KekError, KeyDestroyedError
from crypto.kek import KekSet, LocalKek
from crypto.keyring import KeyRing, WrappedKey, wrap_context

DAY = date(2025, 3, 1)
NEXT_DAY = date(2025, 3, 2)
AAD = associated_data("reports", b"record-0001")
PLAINTEXT = b"2 needles found near the playground"


class InMemoryKeyStore:
    """Stands in for the service's SQLAlchemy key table (outside this package)."""

    def __init__(self):
        self.rows = {}
        self.reads = 0
        self._lock = threading.Lock()

    def by_id(self, key_id):
        self.reads += 1
        return self.rows.get(key_id)

    def by_epoch(self, data_class, epoch):
        self.reads += 1
        for row in list(self.rows.values()):
            if (row.data_class, row.epoch) == (data_class, epoch):
                return row
        return None

    def add(self, key):
        # Like INSERT ... ON CONFLICT (data_class, epoch) DO NOTHING, then SELECT.
        with self._lock:
            existing = self.by_epoch(key.data_class, key.epoch)
            if existing is not None:
                return existing
            self.rows[key.key_id] = key
            return key

    def all_wrapped(self):
        return [row for row in self.rows.values() if not row.destroyed]

    def replace_wrapping(self, key_id, kek_id, wrapped):
        self.rows[key_id] = dataclasses.replace(self.rows[key_id], kek_id=kek_id, wrapped=wrapped)

    def destroy(self, key_id):
        self.rows[key_id] = dataclasses.replace(self.rows[key_id], wrapped=b"", destroyed=True)

    def only_row(self):
        (row,) = self.rows.values()
        return row


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def kek():
    return LocalKek(bytes(range(32)))


@pytest.fixture
def store():
    return InMemoryKeyStore()


@pytest.fixture
def ring(kek):
    return KeyRing(KekSet(kek))


def assert_decryption_fails(call):
    with pytest.raises(DecryptionError) as info:
        call()
    assert str(info.value) == "Decryption failed."
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert info.value.__suppress_context__


def test_round_trip_across_rings(kek, store, ring):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    assert ring.decrypt(store, ciphertext, AAD) == PLAINTEXT
    # Another process: same store and KEK, empty cache.
    assert KeyRing(KekSet(kek)).decrypt(store, ciphertext, AAD) == PLAINTEXT


def test_store_holds_the_key_only_wrapped(kek, store, ring):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    row = store.only_row()
    assert row == WrappedKey(row.key_id, "report", DAY, kek.kek_id, row.wrapped)
    assert row.key_id == key_id_of(ciphertext)
    material = kek.unwrap(row.wrapped, wrap_context(row.key_id, "report", DAY))
    assert material not in row.wrapped
    assert row.wrapped.hex() not in repr(row)
    # The unwrapped material is what sealed the payload.
    opened = AESGCM(material).decrypt(ciphertext[17:29], ciphertext[29:], ciphertext[:17] + AAD)
    assert opened == PLAINTEXT


def test_one_key_per_epoch(store, ring):
    a = ring.key_for_epoch(store, "report", DAY)
    assert ring.key_for_epoch(store, "report", DAY) is a
    b = ring.key_for_epoch(store, "report", NEXT_DAY)
    c = ring.key_for_epoch(store, "device", DAY)
    assert len({a.key_id, b.key_id, c.key_id}) == 3
    assert len(store.rows) == 3


def test_existing_epoch_key_is_reused_by_another_ring(kek, store, ring):
    key = ring.key_for_epoch(store, "report", DAY)
    assert KeyRing(KekSet(kek)).key_for_epoch(store, "report", DAY).key_id == key.key_id
    assert len(store.rows) == 1


def test_losing_the_creation_race_uses_the_stored_key(kek, store, ring):
    winner = KeyRing(KekSet(kek)).key_for_epoch(store, "report", DAY)

    class LateStore(InMemoryKeyStore):
        # by_epoch ran before the other process inserted its key.
        def by_epoch(self, data_class, epoch):
            return None

        def add(self, key):
            return store.add(key)

    assert ring.key_for_epoch(LateStore(), "report", DAY).key_id == winner.key_id
    assert len(store.rows) == 1


def test_wrong_associated_data_fails(store, ring):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    for other in (associated_data("reports", b"record-0002"), associated_data("signals", b"record-0001")):
        assert_decryption_fails(lambda: ring.decrypt(store, ciphertext, other))


def test_unknown_key_id_fails(kek, ring):
    ciphertext = ring.encrypt(InMemoryKeyStore(), "report", DAY, PLAINTEXT, AAD)
    assert_decryption_fails(lambda: KeyRing(KekSet(kek)).decrypt(InMemoryKeyStore(), ciphertext, AAD))
    assert_decryption_fails(lambda: ring.key_by_id(InMemoryKeyStore(), bytes(16)))
    assert_decryption_fails(lambda: ring.key_by_id(InMemoryKeyStore(), b"short"))


def test_malformed_ciphertext_fails(store, ring):
    assert_decryption_fails(lambda: ring.decrypt(store, b"", AAD))
    assert_decryption_fails(lambda: ring.decrypt(store, b"\x02" + bytes(60), AAD))


def test_destroyed_key(store, ring):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    key_id = key_id_of(ciphertext)
    store.destroy(key_id)
    ring.forget(key_id)
    assert_decryption_fails(lambda: ring.decrypt(store, ciphertext, AAD))
    assert_decryption_fails(lambda: ring.key_by_id(store, key_id))
    with pytest.raises(KeyDestroyedError):
        ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    # Other epochs are unaffected.
    other = ring.encrypt(store, "report", NEXT_DAY, PLAINTEXT, AAD)
    assert ring.decrypt(store, other, AAD) == PLAINTEXT


def test_destroyed_elsewhere_stops_working_after_max_age(kek, store):
    clock = FakeClock()
    ring = KeyRing(KekSet(kek), max_age=60, clock=clock)
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    store.destroy(key_id_of(ciphertext))  # by another process; no forget() here
    clock.now += 60
    assert_decryption_fails(lambda: ring.decrypt(store, ciphertext, AAD))
    with pytest.raises(KeyDestroyedError):
        ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)


def test_cache_reloads_only_after_max_age(kek, store):
    clock = FakeClock()
    ring = KeyRing(KekSet(kek), max_age=60, clock=clock)
    ring.key_for_epoch(store, "report", DAY)
    reads = store.reads
    clock.now += 59.999
    ring.key_for_epoch(store, "report", DAY)
    assert store.reads == reads
    clock.now += 0.001
    ring.key_for_epoch(store, "report", DAY)
    assert store.reads > reads


def test_without_max_age_cache_does_not_expire(kek, store):
    clock = FakeClock()
    ring = KeyRing(KekSet(kek), max_age=None, clock=clock)
    ring.key_for_epoch(store, "report", DAY)
    reads = store.reads
    clock.now += 10**9
    ring.key_for_epoch(store, "report", DAY)
    assert store.reads == reads


def test_cache_is_bounded_and_least_recently_used(kek, store):
    ring = KeyRing(KekSet(kek), cache_size=2)
    days = [date(2025, 1, d) for d in (1, 2, 3)]
    ring.key_for_epoch(store, "report", days[0])
    ring.key_for_epoch(store, "report", days[1])
    ring.key_for_epoch(store, "report", days[0])  # days[1] is now least recently used
    ring.key_for_epoch(store, "report", days[2])  # evicts days[1]
    reads = store.reads
    ring.key_for_epoch(store, "report", days[0])
    ring.key_for_epoch(store, "report", days[2])
    assert store.reads == reads
    ring.key_for_epoch(store, "report", days[1])
    assert store.reads == reads + 1


def test_key_by_id_and_key_for_epoch_share_the_cache(kek, store, ring):
    key = ring.key_for_epoch(store, "report", DAY)
    reads = store.reads
    assert ring.key_by_id(store, key.key_id) is key
    assert store.reads == reads
    fresh = KeyRing(KekSet(kek))
    loaded = fresh.key_by_id(store, key.key_id)
    assert fresh.key_for_epoch(store, "report", DAY) is loaded


def test_forget_drops_both_indexes(store, ring):
    key = ring.key_for_epoch(store, "report", DAY)
    ring.forget(key.key_id)
    reads = store.reads
    ring.key_by_id(store, key.key_id)
    assert store.reads == reads + 1
    ring.forget(key.key_id)
    ring.key_for_epoch(store, "report", DAY)
    assert store.reads == reads + 2
    ring.forget(bytes(16))  # unknown ids are ignored


def test_concurrent_use_is_consistent(kek, store):
    ring = KeyRing(KekSet(kek), cache_size=3)
    days = [date(2025, 1, d) for d in range(1, 9)]
    results, errors = [], []

    def work(offset):
        try:
            for i in range(300):
                day = days[(i + offset) % len(days)]
                ciphertext = ring.encrypt(store, "report", day, PLAINTEXT, AAD)
                assert ring.decrypt(store, ciphertext, AAD) == PLAINTEXT
                results.append((day, key_id_of(ciphertext)))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8 * 300
    assert len(set(results)) == len(days)  # one key id per day
    assert len(store.rows) == len(days)


def test_wrapped_key_moved_to_another_epoch_fails(kek, store, ring):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    row = store.only_row()
    # Re-file the row under another day: its wrapping no longer matches.
    store.rows[row.key_id] = dataclasses.replace(row, epoch=NEXT_DAY)
    fresh = KeyRing(KekSet(kek))
    assert_decryption_fails(lambda: fresh.decrypt(store, ciphertext, AAD))
    with pytest.raises(KekError):
        fresh.key_for_epoch(store, "report", NEXT_DAY)


def test_wrapped_key_copied_to_another_row_fails(kek, store, ring):
    ring.key_for_epoch(store, "report", DAY)
    row = store.only_row()
    for moved in (
        dataclasses.replace(row, key_id=bytes(16)),
        dataclasses.replace(row, key_id=bytes(16), epoch=NEXT_DAY),
        dataclasses.replace(row, key_id=bytes(16), data_class="device"),
    ):
        other = InMemoryKeyStore()
        other.add(moved)
        with pytest.raises(KekError):
            KeyRing(KekSet(kek)).key_for_epoch(other, moved.data_class, moved.epoch)
        with pytest.raises(KekError):
            KeyRing(KekSet(kek)).key_by_id(other, moved.key_id)


def test_unwrap_failure_is_logged_but_reported_as_decryption_failure(kek, store, ring, caplog):
    ciphertext = ring.encrypt(store, "report", DAY, PLAINTEXT, AAD)
    stranger = KeyRing(KekSet(LocalKek(bytes(32))))
    with caplog.at_level(logging.ERROR, logger="crypto.keyring"):
        assert_decryption_fails(lambda: stranger.decrypt(store, ciphertext, AAD))
    assert kek.kek_id in caplog.text
    assert key_id_of(ciphertext).hex() in caplog.text
    assert bytes(range(32)).hex() not in caplog.text


def _encrypt_epochs(ring, store):
    days = [date(2025, 2, d) for d in range(1, 6)]
    return {
        day: ring.encrypt(store, "report", day, PLAINTEXT + day.isoformat().encode(), AAD)
        for day in days
    }


@pytest.mark.parametrize("keep_old_in_new_set", [True, False])
def test_rotation_rewraps_without_touching_payloads(kek, store, ring, keep_old_in_new_set):
    ciphertexts = _encrypt_epochs(ring, store)
    destroyed = next(iter(ciphertexts.values()))
    store.destroy(key_id_of(destroyed))
    before = dict(ciphertexts)

    new_kek = LocalKek(bytes(range(50, 82)))
    new_keks = KekSet(new_kek, previous=[kek] if keep_old_in_new_set else [])
    assert ring.rewrap_all(store, new_keks) == len(ciphertexts) - 1
    assert {row.kek_id for row in store.all_wrapped()} == {new_kek.kek_id}
    assert ring.keks is new_keks
    assert ring.rewrap_all(store, new_keks) == 0  # idempotent

    # The old KEK is gone: a fresh process with only the new one still decrypts.
    new_only = KeyRing(KekSet(new_kek))
    for day, ciphertext in ciphertexts.items():
        assert ciphertext == before[day]
        if ciphertext is destroyed:
            assert_decryption_fails(lambda: new_only.decrypt(store, ciphertext, AAD))
        else:
            assert new_only.decrypt(store, ciphertext, AAD) == PLAINTEXT + day.isoformat().encode()
    # And a process still on the old KEK alone no longer can.
    old_only = KeyRing(KekSet(kek))
    survivor = ciphertexts[date(2025, 2, 2)]
    assert_decryption_fails(lambda: old_only.decrypt(store, survivor, AAD))
    # New keys from the rotated ring are wrapped by the new KEK.
    ring.encrypt(store, "report", date(2025, 2, 28), PLAINTEXT, AAD)
    assert store.by_epoch("report", date(2025, 2, 28)).kek_id == new_kek.kek_id


def test_rotation_chain_and_resume(kek, store, ring):
    ciphertexts = _encrypt_epochs(ring, store)
    second = LocalKek(bytes(range(50, 82)))
    third = LocalKek(bytes(range(90, 122)))
    # A deployment already on KekSet(second, [kek]) re-wraps half-way, then
    # the run is repeated: previously re-wrapped keys are skipped.
    keks2 = KekSet(second, previous=[kek])
    first_row = store.all_wrapped()[0]
    context = wrap_context(first_row.key_id, first_row.data_class, first_row.epoch)
    kek_id, wrapped = keks2.wrap(kek.unwrap(first_row.wrapped, context), context)
    store.replace_wrapping(first_row.key_id, kek_id, wrapped)
    ring2 = KeyRing(keks2)
    assert ring2.rewrap_all(store, keks2) == len(ciphertexts) - 1
    assert ring2.rewrap_all(store, KekSet(third, previous=[second])) == len(ciphertexts)
    final = KeyRing(KekSet(third))
    for day, ciphertext in ciphertexts.items():
        assert final.decrypt(store, ciphertext, AAD) == PLAINTEXT + day.isoformat().encode()


def test_rotation_aborts_on_a_key_it_cannot_unwrap(kek, store, ring):
    _encrypt_epochs(ring, store)
    stranger = KeyRing(KekSet(LocalKek(bytes(32))))
    with pytest.raises(KekError):
        stranger.rewrap_all(store, KekSet(LocalKek(bytes(range(50, 82)))))
    assert {row.kek_id for row in store.all_wrapped()} == {kek.kek_id}


@pytest.mark.parametrize(
    "data_class, epoch",
    [
        ("report", datetime(2025, 3, 1, tzinfo=timezone.utc)),
        ("report", "2025-03-01"),
        ("", DAY),
        (None, DAY),
    ],
)
def test_epoch_arguments_are_checked(store, ring, data_class, epoch):
    with pytest.raises(TypeError):
        ring.key_for_epoch(store, data_class, epoch)
    assert store.rows == {}


def test_cache_size_must_be_positive(kek):
    with pytest.raises(ValueError):
        KeyRing(KekSet(kek), cache_size=0)


def test_wrap_context_is_unambiguous():
    key_id = bytes(16)
    contexts = {
        wrap_context(key_id, "report", DAY),
        wrap_context(key_id, "report", NEXT_DAY),
        wrap_context(key_id, "device", DAY),
        wrap_context(bytes(15) + b"\x01", "report", DAY),
    }
    assert len(contexts) == 4


# -- pseudonyms of an epoch (the SMS channel's senders of the day) ------------------------------


def test_epoch_pseudonyms_are_stable_within_an_epoch_and_unrelated_across(kek, store, ring):
    today = ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)
    number = "+32470000000"
    # Another ring (another worker) computes the same pseudonym from the stored key.
    again = KeyRing(KekSet(kek)).pseudonymizer_for_epoch(store, "sms_senders", DAY)
    assert today.pseudonym("sms-sender", number) == again.pseudonym("sms-sender", number)
    tomorrow = ring.pseudonymizer_for_epoch(store, "sms_senders", NEXT_DAY)
    assert today.pseudonym("sms-sender", number) != tomorrow.pseudonym("sms-sender", number)
    # Not the data key used as an HMAC key, nor the pseudonym of another class's key of the day.
    other = ring.pseudonymizer_for_epoch(store, "other_class", DAY)
    assert other.pseudonym("sms-sender", number) != today.pseudonym("sms-sender", number)


def test_epoch_pseudonyms_end_with_the_key(store, ring):
    pseudonymizer = ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)
    (row,) = store.rows.values()
    store.destroy(row.key_id)
    ring.forget(row.key_id)
    with pytest.raises(KeyDestroyedError):
        ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)
    # A fresh ring, with every KEK, cannot compute it either: nothing derived is stored.
    assert pseudonymizer is not None
    assert all(value.destroyed for value in store.rows.values())


def test_epoch_pseudonyms_destroyed_elsewhere_stop_after_max_age(kek, store):
    clock = FakeClock()
    ring = KeyRing(KekSet(kek), max_age=60, clock=clock)
    ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)
    store.destroy(store.only_row().key_id)  # by another process's retention run
    clock.now += 59
    ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)  # still cached
    clock.now += 1
    with pytest.raises(KeyDestroyedError):
        ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)


def test_an_epoch_pseudonymizer_not_asked_for_again_leaves_memory_after_max_age(kek, store):
    clock = FakeClock()
    ring = KeyRing(KekSet(kek), max_age=60, clock=clock)
    ring.pseudonymizer_for_epoch(store, "sms_senders", DAY)
    clock.now += 60
    ring.pseudonymizer_for_epoch(store, "sms_senders", NEXT_DAY)  # the next day's texts
    assert [epoch for (_, epoch) in ring._pseudonymizers] == [NEXT_DAY]
