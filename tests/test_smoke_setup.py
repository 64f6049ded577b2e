from hub import adapters


def test_every_channel_has_an_adapter():
    assert adapters.registered_channels() == ["api", "chat", "email", "sms", "whatsapp"]
