import pytest

from sms.text import TYPED_LABELS, find_variables
from templates_app.rules import (
    ATTRIBUTE_MAX_LENGTH,
    PROBLEM_CODES,
    Attribute,
    Problem,
    contains_link,
    default_attribute,
    validate_template,
    validate_variable_value,
)

CODE = [(Attribute.CHARDIGIT, 6)]  # the usual setting for a verification code variable


def codes(content, template_type="notification", variables=None, signature_name=None):
    return [p.code for p in validate_template(content, template_type, variables, signature_name)]


# --- Variables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("malformed", ["${}", "${ 1}", "$ {1}", "${21}", "${1", "{1}", "${phone}"])
def test_a_malformed_variable_is_not_a_variable_and_is_reported(malformed):
    content = f"您的订单 {malformed} 已发货"
    assert find_variables(content) == []
    problems = validate_template(content, "notification")
    assert Problem("malformed_variable", {"text": malformed}) in problems


def test_well_formed_variables_are_not_reported_as_malformed():
    assert "malformed_variable" not in codes("您的订单${1}已于${DATETIME}发货")


def test_typed_labels_map_to_their_attribute_and_numbers_to_text():
    assert default_attribute("PHONE") is Attribute.PHONE
    assert default_attribute("MONEY") is Attribute.MONEY
    assert default_attribute("NEWTEXT") is Attribute.TEXT
    assert default_attribute("3") is Attribute.TEXT


def test_every_typed_label_of_the_variable_syntax_names_an_attribute():
    # sms.text owns the syntax, the rules own the attributes: they must name the same ones.
    assert {a.value for a in Attribute} == set(TYPED_LABELS) - {"NEWTEXT"}


def test_phone_variables_are_limited_to_15_characters_and_others_to_20():
    assert ATTRIBUTE_MAX_LENGTH[Attribute.PHONE] == 15
    assert {ATTRIBUTE_MAX_LENGTH[a] for a in Attribute if a is not Attribute.PHONE} == {20}


# --- Variable values ---------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", list(Attribute))
def test_an_empty_value_is_refused_for_every_attribute(attribute):
    assert validate_variable_value(attribute, "", 20) == "empty"
    assert validate_variable_value(attribute, "  ", 20) == "empty"


@pytest.mark.parametrize("attribute", list(Attribute))
def test_a_value_longer_than_the_variable_is_refused(attribute):
    assert validate_variable_value(attribute, "1" * 9, 8) == "too_long"


@pytest.mark.parametrize("value", ["13800138000", "+86-10-12345678", "95555", "400-800-1234", "1"])
def test_phone_values_are_digits_plus_and_dash(value):
    assert validate_variable_value(Attribute.PHONE, value, 15) is None


@pytest.mark.parametrize("value", ["138-", "+", "call 110", "010 1234"])
def test_phone_values_must_end_in_a_digit_and_hold_nothing_else(value):
    assert validate_variable_value(Attribute.PHONE, value, 15) == "invalid"


def test_phone_values_can_require_a_minimum_length():
    assert validate_variable_value(Attribute.PHONE, "110", 15, phone_min_length=4) == "too_short"
    assert validate_variable_value(Attribute.PHONE, "1100", 15, phone_min_length=4) is None


@pytest.mark.parametrize("value", ["123456", "AB12cd", "X"])
def test_chardigit_values_are_letters_and_digits(value):
    assert validate_variable_value(Attribute.CHARDIGIT, value, 20) is None


@pytest.mark.parametrize("value", ["12-34", "ab cd", "订单12", "a.b"])
def test_chardigit_values_refuse_anything_else(value):
    assert validate_variable_value(Attribute.CHARDIGIT, value, 20) == "invalid"


@pytest.mark.parametrize(
    "value",
    [
        "20240105",
        "2024-01-05",
        "2024/01/05",
        "2024年01月05日",
        "2024年1月5日",
        "09:30:15",
        "09:30",
        "9点30分",
        "09点30",
    ],
)
def test_datetime_values_accept_the_documented_formats(value):
    assert validate_variable_value(Attribute.DATETIME, value, 20) is None


@pytest.mark.parametrize("value", ["2024-13-01", "20240230", "2024.01.05", "2024-01-05 09:30", "25:00", "tomorrow"])
def test_datetime_values_refuse_other_formats_and_impossible_dates(value):
    assert validate_variable_value(Attribute.DATETIME, value, 20) == "invalid"


@pytest.mark.parametrize("value", ["128.50", "100", "壹佰贰拾叁元整", "三千五百元", "192.168.0.1"])
def test_money_values_are_digits_dots_and_chinese_numerals(value):
    assert validate_variable_value(Attribute.MONEY, value, 20) is None


@pytest.mark.parametrize("value", ["¥100", "$5", "1,000", "元整", "100 元"])
def test_money_values_refuse_currency_symbols_and_other_text(value):
    assert validate_variable_value(Attribute.MONEY, value, 20) == "invalid"


@pytest.mark.parametrize("value", ["张三", "Alice Smith", "北京市朝阳区", "VIP-会员"])
def test_text_values_accept_names_and_addresses(value):
    assert validate_variable_value(Attribute.TEXT, value, 20) is None


@pytest.mark.parametrize("value", ["A.Smith", "你好。", "O'Brien", "<b>", "{x}"])
def test_text_values_refuse_dots_quotes_and_angle_or_curly_brackets(value):
    assert validate_variable_value(Attribute.TEXT, value, 20) == "forbidden_character"


@pytest.mark.parametrize("value", ["http://x", "https://a/b", "www.example.com"])
def test_text_values_refuse_links(value):
    assert validate_variable_value(Attribute.TEXT, value, 20) == "link"


@pytest.mark.parametrize("value", ["联系13800138000", "加微信abc12345", "QQ:123456789"])
def test_text_values_refuse_contact_details(value):
    assert validate_variable_value(Attribute.TEXT, value, 20) == "contact"


# --- Template problems -------------------------------------------------------------------------


def test_every_problem_code_is_listed_once():
    assert len(PROBLEM_CODES) == len(set(PROBLEM_CODES)) == 18


def test_a_clean_notification_has_no_problems():
    assert codes("尊敬的${1}，您的订单${2}已发货，详情见 https://example.com/orders") == []


def test_a_clean_verification_template_has_no_problems():
    assert codes("您的验证码为${1}，5分钟内有效。", "verification", CODE, "华为云") == []


def test_a_clean_promotion_has_no_problems():
    assert codes("双十一会员专享8折，拒收请回复R", "promotion") == []


def test_an_unknown_template_type_is_a_programming_error():
    with pytest.raises(ValueError):
        validate_template("hello", "marketing")


def test_blank_content_is_empty():
    assert codes("  \n") == ["empty"]
    assert "empty" not in codes("您好")


def test_content_over_500_characters_with_signature_and_brackets_is_too_long():
    problems = validate_template("好" * 496, "notification", signature_name="华为云")
    assert Problem("too_long", {"length": 501, "limit": 500}) in problems


def test_content_of_exactly_500_characters_with_signature_is_not_too_long():
    assert "too_long" not in codes("好" * 495, signature_name="华为云")


def test_more_than_20_variables_is_too_many():
    content = "，".join(f"值${{{i}}}" for i in range(1, 21)) + "，值${TEXT}"
    problems = validate_template(content, "notification")
    assert Problem("too_many_variables", {"count": 21, "limit": 20}) in problems


def test_20_variables_is_not_too_many():
    content = "，".join(f"值${{{i}}}" for i in range(1, 21))
    assert "too_many_variables" not in codes(content)


def test_variables_next_to_each_other_are_adjacent():
    problems = validate_template("您好${1}${2}，欢迎", "notification")
    assert Problem("adjacent_variables", {"text": "${1}${2}"}) in problems


def test_variables_separated_only_by_spaces_are_still_adjacent():
    assert "adjacent_variables" in codes("您好${1} ${2}，欢迎")


def test_variables_separated_by_text_are_not_adjacent():
    assert "adjacent_variables" not in codes("您好${1}先生${2}，欢迎")


def test_a_template_of_only_variables_and_punctuation_is_refused():
    assert "only_variables" in codes("${1}，${2}！")


def test_a_template_with_fixed_text_is_not_only_variables():
    assert "only_variables" not in codes("${1}，您好")


@pytest.mark.parametrize("content", ["【通知】您的订单已发货", "您的订单[123]已发货"])
def test_brackets_are_refused_as_they_look_like_a_signature(content):
    assert "brackets" in codes(content)


def test_parentheses_are_not_brackets():
    assert "brackets" not in codes("您的订单（123）已发货")


@pytest.mark.parametrize("symbol", ["¥", "★", "^_^", "&", "√", "※"])
def test_special_symbols_are_banned(symbol):
    problems = validate_template(f"订单金额{symbol}已支付", "notification")
    assert Problem("banned_symbol", {"symbols": symbol}) in problems


def test_plain_punctuation_is_not_banned():
    assert "banned_symbol" not in codes("订单已支付！请查收^^")


def test_the_signature_in_the_text_is_reported_as_signature_not_as_brackets():
    problems = validate_template("【华为云】您的订单已发货", "notification", signature_name="华为云")
    assert [p.code for p in problems] == ["signature_in_text"]
    assert problems[0].params == {"signature": "华为云"}


def test_another_bracketed_name_is_brackets_not_signature():
    assert codes("【阿里云】您的订单已发货", signature_name="华为云") == ["brackets"]


def test_the_signature_name_without_brackets_is_fine():
    assert codes("华为云提醒您：订单已发货", signature_name="华为云") == []


@pytest.mark.parametrize(
    "content, glued",
    [
        ("详情请访问www.${1}.cn", "www.${1}.cn"),
        ("请致电186${2}1234咨询", "186${2}1234"),
        ("链接 https://example.com/${1} 查看", "https://example.com/${1}"),
        ("请访问${1}.com 查看", "${1}.com"),
        ("请拨打400-${1}咨询", "400-${1}"),
    ],
)
def test_a_variable_inside_a_link_or_number_is_partial(content, glued):
    problems = validate_template(content, "notification")
    assert Problem("partial_variable_in_link", {"text": glued, "position": 1}) in problems


@pytest.mark.parametrize("content", ["您的订单${1}已发货", "Dear ${1}, your order has shipped.", "Your code is ${1}."])
def test_a_variable_in_prose_is_not_partial(content):
    assert "partial_variable_in_link" not in codes(content)


@pytest.mark.parametrize("content", ["您的验证码为123456", "您的验证码为${1}，序号${2}"])
def test_a_verification_template_needs_exactly_one_variable(content):
    assert "verification_variable_count" in codes(content, "verification", CODE * 2)


def test_a_verification_template_with_one_variable_has_the_right_count():
    assert "verification_variable_count" not in codes("您的验证码为${1}", "verification", CODE)


def test_a_verification_variable_longer_than_8_is_refused():
    problems = validate_template("您的验证码为${1}", "verification", [(Attribute.CHARDIGIT, 9)])
    params = {"position": 1, "length": 9, "limit": 8}
    assert Problem("verification_variable_too_long", params) in problems


def test_a_verification_variable_defaults_to_its_attribute_length_which_is_too_long():
    assert "verification_variable_too_long" in codes("您的验证码为${1}", "verification")


def test_a_verification_variable_of_8_is_short_enough():
    variables = [(Attribute.CHARDIGIT, 8)]
    assert "verification_variable_too_long" not in codes("您的验证码为${1}", "verification", variables)


@pytest.mark.parametrize("keyword", ["验证码", "注册码", "校验码", "动态码"])
def test_a_chinese_verification_template_with_a_keyword_passes(keyword):
    assert "verification_keyword" not in codes(f"您的{keyword}为${{1}}", "verification", CODE)


def test_a_chinese_verification_template_without_a_keyword_is_refused():
    assert "verification_keyword" in codes("您的密码为${1}", "verification", CODE)


def test_an_english_verification_template_may_use_the_word_code():
    assert "verification_keyword" not in codes("Your CODE is ${1}", "verification", CODE)
    assert "verification_keyword" in codes("Your PIN is ${1}", "verification", CODE)


def test_a_chinese_template_cannot_rely_on_the_english_keyword():
    assert "verification_keyword" in codes("您的code为${1}", "verification", CODE)


@pytest.mark.parametrize(
    "content",
    ["您的验证码为${1}，登录 https://a.cn", "您的验证码为${1}，详见www.example.com", "验证码${1}，见example.com"],
)
def test_a_verification_template_must_not_contain_a_link(content):
    assert "verification_link" in codes(content, "verification", CODE)


def test_a_verification_template_without_a_link_passes_the_link_check():
    assert "verification_link" not in codes("您的验证码为${1}，5分钟内有效。", "verification", CODE)


def test_a_notification_may_contain_a_fixed_link():
    assert "verification_link" not in codes("订单已发货，详见 https://a.cn")


# --- Links: fixed and final, never short or redirecting (cloud-sms-spec.md 2.2, 4.5) ---------------


@pytest.mark.parametrize(
    ("content", "link"),
    [
        ("订单已发货，详见 http://bit.ly/x 查看", "http://bit.ly/x"),
        ("物流详情 https://t.cn/A6x9Kq 请查收", "https://t.cn/A6x9Kq"),
        ("点击m.tb.cn/h.5Lx 领取优惠，拒收请回复R", "m.tb.cn/h.5Lx"),
        ("Track it at HTTPS://TinyURL.com/y3k 。", "HTTPS://TinyURL.com/y3k"),
        ("详见 u.jd.com/abc。", "u.jd.com/abc"),
    ],
)
def test_a_short_link_is_refused_with_the_link(content, link):
    assert Problem("short_link", {"link": link}) in validate_template(content, "promotion")


@pytest.mark.parametrize(
    ("content", "link"),
    [
        (
            "详见 https://a.cn/jump?url=https://evil.example.com/x 查看",
            "https://a.cn/jump?url=https://evil.example.com/x",
        ),
        ("详见 https://a.cn/go?to=https%3A%2F%2Fb.cn 查看", "https://a.cn/go?to=https%3A%2F%2Fb.cn"),
        ("详见 www.example.com/r?target=www.other.cn 查看", "www.example.com/r?target=www.other.cn"),
    ],
)
def test_a_link_that_forwards_to_another_address_is_refused_with_the_link(content, link):
    assert Problem("redirect_link", {"link": link}) in validate_template(content, "notification")


@pytest.mark.parametrize(
    "content",
    [
        "订单已发货，详见 https://www.example.com/orders?id=1 查看",
        "详见 https://shop.example.cn/t.co 查看",  # a path that looks like a shortener is not its host
        "客服邮箱 service@t.cn",
        "Node.js 5.Valid e.g. i.e.",
        "请访问 https://bitly.example.com 查看",
    ],
)
def test_a_full_fixed_link_and_prose_are_not_short_or_redirecting(content):
    assert not {"short_link", "redirect_link"} & set(codes(content))


def test_a_short_link_built_from_a_variable_is_both_partial_and_short():
    assert {"partial_variable_in_link", "short_link"} <= set(codes("详见 t.cn/${1} 查看"))


@pytest.mark.parametrize(
    "opt_out",
    [
        "拒收请回复R",
        "回复R拒收",
        "回T退订",
        "退订回T",
        "回TD退订",
        "退订请回复td",
        "Reply STOP to opt out",
        "reply R to unsubscribe",
        "Text STOP",
    ],
)
def test_a_promotion_with_an_opt_out_passes(opt_out):
    assert "promotion_opt_out" not in codes(f"会员专享8折 {opt_out}", "promotion")


@pytest.mark.parametrize(
    "content", ["双十一会员专享8折", "会员专享8折，回复R查看详情", "Sale today, reply R for details"]
)
def test_a_promotion_without_an_opt_out_is_refused(content):
    assert "promotion_opt_out" in codes(content, "promotion")


def test_a_notification_needs_no_opt_out():
    assert "promotion_opt_out" not in codes("您的订单已发货")


@pytest.mark.parametrize("attribute, length", [(Attribute.PHONE, 16), (Attribute.TEXT, 21), (Attribute.TEXT, 0)])
def test_a_variable_length_outside_the_attribute_range_is_refused(attribute, length):
    problems = validate_template("您的订单${1}已发货", "notification", [(attribute, length)])
    limit = ATTRIBUTE_MAX_LENGTH[attribute]
    params = {"position": 1, "attribute": attribute.value, "length": length, "limit": limit}
    assert Problem("variable_length", params) in problems


@pytest.mark.parametrize("attribute, length", [(Attribute.PHONE, 15), (Attribute.MONEY, 20), ("TEXT", 1)])
def test_a_variable_length_inside_the_attribute_range_is_fine(attribute, length):
    assert "variable_length" not in codes("您的订单${1}已发货", variables=[(attribute, length)])


def test_links_include_schemes_www_and_bare_domains_but_not_abbreviations():
    assert contains_link("http://a") and contains_link("www.a") and contains_link("shop.example.cn")
    assert not contains_link("e.g. i.e. Node.js 5.Valid")
