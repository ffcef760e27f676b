from processor.engine.ordering import NO_KEY, KeyedSerializer, ordering_key_func


def test_same_key_waits_in_fifo_order_and_other_keys_run():
    s: KeyedSerializer[str] = KeyedSerializer()
    assert s.admit("u1", "a") is True
    assert s.admit("u1", "b") is False
    assert s.admit("u1", "c") is False
    assert s.admit("u2", "x") is True
    assert s.release("u1") == "b"
    assert s.release("u1") == "c"
    assert s.release("u1") is None
    assert s.active_keys == 1  # only u2 is remembered


def test_drop_all_returns_waiters_that_never_ran():
    s: KeyedSerializer[str] = KeyedSerializer()
    s.admit("k", "a")
    s.admit("k", "b")
    assert s.drop_all() == ["b"]
    assert s.active_keys == 0


def test_key_precedence_user_then_anonymous_then_message_key():
    key = ordering_key_func(["userId", "anonymousId", "messageKey"])
    assert key({"userId": "u", "anonymousId": "a"}, b"k") == ("userId", "u")
    assert key({"userId": "", "anonymousId": "a"}, b"k") == ("anonymousId", "a")
    assert key({}, b"k") == ("k", b"k")
    assert key({}, None) == NO_KEY
    # a userId "42" and an anonymousId "42" are different people
    assert key({"userId": "42"}, None) != key({"anonymousId": "42"}, None)


def test_partition_key_means_strict_partition_order():
    key = ordering_key_func(["partition"])
    assert key({"userId": "u"}, b"k") == NO_KEY
