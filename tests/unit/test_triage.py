"""Urgency triage on descriptions the way residents write them: with or without diacritics,
decomposed, shouted, full of punctuation, sometimes denying what they mention."""

import dataclasses
import unicodedata

import pytest

from handlers.domain import triage
from handlers.domain.triage import Urgency, assess_urgency
from handlers.text import fold

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


URGENT = [
    # weapons
    ("Hai nhóm thanh niên cầm dao đánh nhau trước ngõ", ("weapon", "violence")),
    ("Thằng con nhà bên vác dao phay sang chửi bới", ("weapon",)),
    ("Có mấy đứa mang theo mã tấu, gậy gộc đứng đầu hẻm", ("weapon",)),
    ("Ông ấy có súng, hay lôi ra dọa mọi người", ("weapon",)),
    ("Nó dọa tạt axit vào mặt vợ", ("weapon", "threat")),
    ("hang xom cam dao doa giet ca nha toi", ("weapon", "threat")),
    # violence
    ("Hàng xóm hành hung mẹ tôi vì chuyện cái cổng", ("violence",)),
    ("Hai nhà xô xát, đập phá cả xe máy", ("violence",)),
    ("chong say ruou ve danh dap vo con", ("violence",)),
    ("ĐÁNH NHAU TO Ở NGÕ 7!!!", ("violence",)),
    ("...đánh-nhau ở đầu ngõ???", ("violence",)),
    (NFD("Con trai ông Tư bị đâm ở quán nước"), ("violence",)),
    # threats
    ("Ông ta đe dọa sẽ giết cả nhà tôi nếu còn kiện", ("threat",)),
    ("Nó nhắn tin đe doạ, khủng bố tinh thần cả tuần nay", ("threat",)),
    # injury
    ("Bác tôi bị thương ở đầu, chảy máu nhiều, đã đi cấp cứu", ("injury",)),
    ("co nguoi bi thuong phai nhap vien", ("injury",)),
    # crowds
    ("Bên kia kéo đến đông lắm, khoảng 20 người, vây kín cổng nhà tôi", ("crowd",)),
    ("Tụ tập đông người trước UBND, có dấu hiệu gây rối trật tự", ("crowd",)),
    ("hai nhom hon chien o bai dat trong", ("crowd",)),
    # fire
    ("Nó tưới xăng đòi đốt nhà tôi", ("fire",)),
    ("Cháy nhà số 12 rồi, mọi người ơi!", ("fire",)),
    ("hom qua co ke phong hoa kho hang", ("fire",)),
    # abduction
    ("Họ bắt cóc con tôi để đòi nợ", ("abduction",)),
    ("Chủ nợ giữ người, nhốt anh tôi trong kho", ("abduction",)),
    # self-harm
    ("Chị ấy dọa tự tử nếu bị đuổi khỏi nhà", ("self_harm",)),
    ("Ông cụ uống thuốc sâu sau khi cãi nhau với con", ("self_harm",)),
    ("Bà ấy nói không muốn sống nữa", ("self_harm",)),
    ("Cô ấy định tự tử", ("self_harm",)),
    # several at once, reasons in category order
    ("Chúng nó đánh nhau, có người bị thương, rồi đốt xe", ("violence", "injury", "fire")),
    # a negation does not cross punctuation; other words are not negations
    ("Không! Họ đang đánh nhau ngoài đường", ("violence",)),
    ("Không, có người bị thương rồi", ("injury",)),
    ("Trước cổng chùa đánh nhau", ("violence",)),
    ("Không may bác ấy bị đâm trọng thương", ("violence", "injury")),
    ("Cô bị thương ở tay", ("injury",)),
    ("Không ai can được, hai bên đánh nhau", ("violence",)),
    ("Chưa ai bị thương nhưng hai bên vẫn đánh nhau", ("violence",)),
]

NOT_URGENT = [
    # ordinary disputes
    "Hàng xóm hát karaoke đến 1 giờ sáng, tiếng ồn không chịu nổi",
    "hang xom hat karaoke den 1 gio sang, on qua",
    "Tranh chấp ranh giới đất với nhà bên cạnh",
    "tranh chap ranh gioi dat voi nha ben canh",
    "Anh Hùng vay tiền 50 triệu, nợ tiền không trả đã hai năm",
    "Nhà số 8 xây lấn sang nhà hàng xóm 30 cm",
    "Nước thải từ quán ăn chảy sang sân nhà tôi, bốc mùi",
    "Xưởng gỗ đốt rác gây khói, tổng tiền bồi thường chưa thỏa thuận",
    "Chó nhà bên sủa suốt đêm, nói mãi không được",
    # words that fold like a keyword but mean something else
    "Dạo này nhà bên hay để xe chắn lối đi",
    "Tôi đi dạo thì thấy họ đổ đất ra đường",
    "Xe tải chạy nhanh qua ngõ, bụi bay mù mịt",
    "Hàng xóm muốn từ từ trả nợ, tôi không đồng ý",
    "hang xom muon tu tu tra no",
    "Tôi cần tư vấn pháp luật về chia thừa kế",
    "Khu phố cấm gây ồn sau 22 giờ nhưng nhà bên vẫn hát",
    "Anh ta chỉ chém gió là quen công an",
    "Lò giết mổ gia súc xả nước bẩn ra kênh",
    "Nhà bên bơm nước suốt đêm, máy bơm kêu rất to",
    "Ống nước gãy rồi mà không ai sửa",
    "Họ đi kiếm tiền cả ngày, con cái không ai trông",
    # negated
    "Hai bên cãi nhau to nhưng không có ai bị thương",
    "Chưa đánh nhau, chỉ to tiếng thôi",
    "Họ không đánh nhau, chỉ chửi nhau",
    "khong co ai bi thuong, chi cai nhau",
    "Không có người nào bị thương, chỉ vỡ cái chậu",
    "Chưa hề đánh nhau bao giờ",
    "Ko ai bị thương đâu",
    "Chẳng có ai bị thương cả",
    # nothing to match
    "😡😡😡🔥🔥",
    "",
]


@pytest.mark.parametrize("text, reasons", URGENT)
def test_urgent(text, reasons):
    assert assess_urgency(text, danger_now=False) == Urgency(urgent=True, reasons=reasons)


@pytest.mark.parametrize("text", NOT_URGENT)
def test_not_urgent(text):
    assert assess_urgency(text, danger_now=False) == Urgency(urgent=False, reasons=())


@pytest.mark.parametrize(
    "text",
    [
        "Hai nhóm thanh niên cầm dao đánh nhau trước ngõ",
        "Ông ta đe dọa sẽ giết cả nhà tôi",
        "Bác tôi bị thương, chảy máu nhiều",
        "Nó tưới xăng đòi đốt nhà tôi",
    ],
)
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(fold, id="no-diacritics"),
        pytest.param(NFD, id="nfd"),
        pytest.param(str.upper, id="upper"),
        pytest.param(lambda s: "😡 “" + s.replace(" ", " - ") + "” !!!???", id="punctuation"),
    ],
)
def test_same_answer_however_it_is_typed(text, variant):
    """Without diacritics, decomposed, shouted or peppered with punctuation: same reasons."""
    assert assess_urgency(variant(text), False) == assess_urgency(text, False)
    assert assess_urgency(text, False).urgent


def test_danger_now_alone_is_urgent():
    assert assess_urgency("Hàng xóm hát karaoke đến 1 giờ sáng", danger_now=True) == Urgency(True, ("danger_now",))


def test_danger_now_comes_first():
    assert assess_urgency("Họ đang đánh nhau", danger_now=True).reasons == ("danger_now", "violence")


def test_danger_now_is_not_negated_by_the_text():
    assert assess_urgency("Không có ai bị thương", danger_now=True) == Urgency(True, ("danger_now",))


def test_the_same_category_is_listed_once():
    assert assess_urgency("Đánh nhau. Rồi lại đánh nhau, hành hung cả ông già", False).reasons == ("violence",)


def test_a_negated_and_a_plain_mention():
    assert assess_urgency("Lần trước không đánh nhau, lần này đánh nhau thật", False).reasons == ("violence",)


def test_diacritics_only_words_need_their_diacritics():
    """ "tự tử" unaccented is "tu tu", which is also "từ từ" (slowly): only the accented form counts."""
    assert assess_urgency("Cô ấy định tự tử", False).urgent
    assert not assess_urgency("co ay dinh tu tu", False).urgent
    assert assess_urgency("co ay doa tu tu", False).reasons == ("self_harm",)


def test_urgency_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        assess_urgency("", False).urgent = True


def test_reason_codes_have_messages():
    """Every reason code is a message key in both catalogs, so the alert can name it."""
    from handlers.i18n import CatalogTranslator

    t = CatalogTranslator()
    codes = [triage.DANGER_NOW] + [code for code, _, _ in triage.CATEGORIES]
    for lang in ("vi", "en"):
        for code in codes:
            assert t(f"urgency.{code}", lang) != f"urgency.{code}"


def test_keyword_lists_are_clean():
    """Phrases are lower case, NFC, and none is listed twice once folded (easy to extend safely)."""
    seen = {}
    for code, folded, exact in triage.CATEGORIES:
        for phrase in folded + exact:
            assert phrase == unicodedata.normalize("NFC", phrase.lower().strip()), phrase
        for phrase in folded:
            assert fold(phrase) not in seen, (phrase, seen.get(fold(phrase)))
            seen[fold(phrase)] = code
