from django.utils import translation

from smsconsole.regions import region_choices


def test_regions_are_named_in_the_readers_language_with_their_calling_code():
    with translation.override("en"):
        english = dict(region_choices())
    with translation.override("zh-hans"):
        chinese = dict(region_choices())
    assert english["CN"] == "China +86" and english["AC"] == "Ascension Island +247"
    assert chinese["CN"] == "中国 +86" and chinese["HK"].startswith("中国香港")
    assert len(english) == len(chinese) > 200


def test_the_accounts_region_comes_first():
    with translation.override("en"):
        choices = region_choices(first="HK")
    assert choices[0][0] == "HK"
    assert [code for code, _label in choices].count("HK") == 1


def test_the_region_select_of_the_opt_out_form_shows_names(alice_client, shop):
    from django.urls import reverse

    html = alice_client.get(reverse("campaigns:opt_out_create")).content.decode()
    assert ">China +86<" in html
    assert html.index('value="CN"') < html.index('value="AC"')
