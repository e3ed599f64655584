"""Red flags said in everyday words, found with the lead engineer's red-flag phrasings
(evaluation/data/understanding/train11-*.yaml): each is raised red through the engine, and the same
finding denied, gone, someone else's or hypothetical raises none."""

from __future__ import annotations

import pytest

from tests.conftest import step_engine


def levels(text: str, lang: str) -> set[str]:
    engine = step_engine(("symptoms",), lang)
    engine.handle(text)
    return {f["level"] for f in engine.state.flags}


@pytest.mark.parametrize("text, lang", [
    ("他蹲着洗脚，一站起来就倒了，叫了好几声才应", "zh"),            # syncope as a story
    ("那天走着走着两眼发黑，人就瘫地上了", "zh"),
    ("老爷子昨晚非说屋里有人，认不得自家门了", "zh"),                # confusion: seeing people, lost at home
    ("脑子好像不灵了，刚说的事转头就忘，还找不着回家的路", "zh"),
    ("人活着没啥意思，想去找老伴去了", "zh"),                      # joining the late spouse
    ("心前区像被刀剜一样疼，疼了好久", "zh"),                      # chest pain, a long time
    ("前天晚上憋得躺不下，坐了一宿", "zh"),                        # orthopnoea
    ("枕头得垫三个才能睡，平躺就喘不过气", "zh"),                  # lying flat is rest
    ("她笑的时候半边脸不动", "zh"),
    ("My face went funny on one side yesterday evening.", "en"),
    ("I've lost the strength in my left hand all of a sudden.", "en"),
    ("He wakes up at night gasping for air.", "en"),
    ("It's like someone's sitting on my chest and it won't ease off when I rest.", "en"),
])
def test_red_flag_in_everyday_words(text: str, lang: str) -> None:
    assert "red" in levels(text, lang)


@pytest.mark.parametrize("text, lang", [
    ("没晕过，头也不晕", "zh"),
    ("以前晕倒过，出院以后再没有过", "zh"),
    ("隔壁床那个老头嘴歪了，我没事", "zh"),
    ("晚上能躺平睡，不憋", "zh"),
    ("要是再胸口疼我就去医院", "zh"),
    ("刚出院那两天有点胸闷，现在早就没了", "zh"),
    ("My husband had a stroke years ago, but I'm fine.", "en"),
    ("If I get chest pain again I'll call an ambulance.", "en"),
    ("I had a bit of chest pain the first day home but it's long gone.", "en"),
])
def test_denied_gone_or_someone_elses_raises_no_red(text: str, lang: str) -> None:
    assert "red" not in levels(text, lang)


@pytest.mark.parametrize("text, lang", [
    ("昨天中午吃着饭，人一下子就出溜到椅子底下去了", "zh"),
    ("差多了，前天还晕了一回，倒在客厅里", "zh"),
    ("我妈这两天说话驴唇不对马嘴的，叫她也反应慢", "zh"),
    ("她人有点呆呆的，问啥都不知道，跟换了个人似的", "zh"),
    ("他把存折都交给我了，说以后用不上了，还说对不起我们", "zh"),
    ("夜里老想，要是睡一觉不醒就好了", "zh"),
    ("心口像被人攥住了一样，闷得很，坐那儿不动也闷", "zh"),
    ("尿里全是血，红通通的", "zh"),
    ("咳的时候带出来好多血，一口一口的", "zh"),
    ("She slid off her chair at dinner and wasn't responding for a minute or two.", "en"),
    ("Found him on the bathroom floor, he'd gone down and didn't know what happened.", "en"),
    ("Mum's been seeing things, she says there are children in the garden.", "en"),
    ("I just want it all to be over, I've had enough of living.", "en"),
    ("The left side of her mouth is hanging down.", "en"),
    ("His right leg just gave out from under him and he can't feel it properly.", "en"),
])
def test_red_flag_in_everyday_words_second_batch(text: str, lang: str) -> None:
    assert "red" in levels(text, lang)


@pytest.mark.parametrize("text, lang", [
    ("我妈这两天说话怪怪的，驴唇不对马嘴", "zh"),           # a 不对 inside words not understood
    ("He was a bit off and didn't say much, sort of vacant", "en"),
    ("咳的时候胸口那块怪怪的", "zh"),                      # only a mention named as a moment
])
def test_a_no_inside_words_not_understood_is_never_nothing(text: str, lang: str) -> None:
    from dialogs.understanding import normalize, parse_field

    assert parse_field("symptoms", normalize(text), lang).value != {"present": [], "absent": [], "cues": {}}


@pytest.mark.parametrize("text, lang", [
    ("没有，挺好的", "zh"), ("你说的那些一样都没有", "zh"), ("嗯……那个……没有", "zh"),
    ("胸闷的时候含硝酸甘油，出院以后还一回都没含过", "zh"),
    ("No, he's been grand.", "en"), ("Not that I've noticed.", "en"),
    ("Got the painkillers by the bed, haven't even opened the packet.", "en"),
])
def test_a_plain_no_is_still_nothing(text: str, lang: str) -> None:
    from dialogs.understanding import normalize, parse_field

    assert parse_field("symptoms", normalize(text), lang).value == {"present": [], "absent": [], "cues": {}}


@pytest.mark.parametrize("field, text, lang", [
    ("overall_condition", "差，晚上憋得没法躺，只能坐着打盹", "zh"),     # 只能坐着 is at rest, not "can sit"
    ("overall_condition", "不好，我妈这两天老糊涂了，连我都不认得了", "zh"),
    ("symptoms", "我婆婆这两天尿尿尿出血来了，还一块一块的", "zh"),      # clots are heavy
    ("symptoms", "喘气费劲，嘴唇都乌了", "zh"),
    ("symptoms", "老头子这两天嘴有点往右边咧，喝稀饭往外淌", "zh"),
    ("wound", "The scar's fine. It's my chest, it's been crushing for about forty minutes now.", "en"),
    ("symptoms", "Dad had a fit this morning, shaking all over, then he was out of it for ages.", "en"),
    ("symptoms", "Went to stand up and the room went black, next I knew I was on the floor.", "en"),
    ("symptoms", "Her face has slipped on one side.", "en"),
])
def test_red_flag_told_in_passing_or_in_everyday_words(field: str, text: str, lang: str) -> None:
    engine = step_engine((field,), lang)
    engine.handle(text)
    assert "red" in {f["level"] for f in engine.state.flags}


def test_a_bare_worse_answers_the_condition_question() -> None:
    for text in ("差", "很差"):
        engine = step_engine(("overall_condition",), "zh")
        engine.handle(text)
        assert engine.state.collected["overall_condition"] == "worse", text
    engine = step_engine(("overall_condition",), "zh")
    engine.handle("差不多")
    assert engine.state.collected["overall_condition"] == "same"


def test_a_question_about_ones_own_finding_reports_it_a_question_about_a_possibility_does_not() -> None:
    assert "red" in levels("Is it normal for my stools to be black?", "en")
    assert "red" in levels("Should I worry that I fainted on Sunday?", "en")
    assert "red" not in levels("Should I worry if I faint?", "en")
    assert "red" not in levels("Can these tablets cause black stools?", "en")


@pytest.mark.parametrize("text, lang, reading", [
    ("It was 185 on top and 96 underneath.", "en", {"systolic": 185, "diastolic": 96}),
    ("120 on top, 80 at the bottom", "en", {"systolic": 120, "diastolic": 80}),
    ("高的一百六，低的一百", "zh", {"systolic": 160, "diastolic": 100}),
])
def test_a_blood_pressure_labelled_after_its_number_or_as_the_high_and_low_one(text: str, lang: str, reading: dict) -> None:
    from dialogs.understanding import normalize, parse_field

    assert parse_field("blood_pressure", normalize(text), lang).value == reading


@pytest.mark.parametrize("text, lang, red", [
    ("伤口边上有点渗液，白白的稠稠的", "zh", True),      # thick white: pus
    ("线头那里鼓了个包，挤出来黄的", "zh", True),
    ("Some green stuff oozing out.", "en", True),
    ("伤口渗了点黄水", "zh", False),                     # thin yellow fluid: discharge, yellow
    ("It's weeping clear fluid.", "en", False),
])
def test_pus_said_as_what_it_looks_like(text: str, lang: str, red: bool) -> None:
    engine = step_engine(("wound",), lang)
    engine.handle(text)
    assert ("red" in {f["level"] for f in engine.state.flags}) is red


def test_fainting_is_a_word_of_its_own_so_a_denied_list_holding_it_stays_denied() -> None:
    assert levels("I haven't had any pain, bleeding or fainting.", "en") == set()
    assert "red" in levels("I've had a couple of fainting episodes, well, fainting twice on Sunday.", "en")


@pytest.mark.parametrize("text, lang", [("那个咳嗽啊，基本上好利索了", "zh"), ("The cough is a thing of the past.", "en")])
def test_a_symptom_said_to_be_over_is_no_finding(text: str, lang: str) -> None:
    from dialogs.understanding import normalize, parse_field

    assert parse_field("symptoms", normalize(text), lang).value["present"] == []


def test_a_birth_year_said_with_an_apostrophe_verifies_an_age_does_not() -> None:
    from dialogs.understanding import parse_identity

    assert parse_identity("Bob Miller, yes, '62.", "en", name="Robert Miller", birth_year=1962).value["verified"]
    # an age is no birth year (followup-outcome.md: name plus birth year or last four digits)
    assert not parse_identity("Yes, I'm Robert, I'm sixty-four.", "en", name="Robert Miller", birth_year=1962).value["verified"]


def test_a_body_function_said_to_be_normal_is_nothing_new() -> None:
    from dialogs.understanding import normalize, parse_field

    assert parse_field("symptoms", normalize("Stools are a normal colour."), "en").value["present"] == []
    assert parse_field("symptoms", normalize("Stools normal but the chest pain came back last night."),
                       "en").value["present"] == ["chest_pain"]
