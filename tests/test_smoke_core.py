from tests.harness import Person, texts


async def test_start_welcomes(guest: Person) -> None:
    out = await guest.send("/start")
    assert "室间质量评价申报" in texts(out)
    assert "绑定实验室" in " ".join(guest.last.labels)
