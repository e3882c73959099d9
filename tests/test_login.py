from django.urls import reverse

from tests.factories import PASSWORD


def test_the_login_page_renders(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


def test_a_member_logs_in_and_lands_on_the_dashboard(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).context["user"] == alice


def test_a_wrong_password_shows_an_error_and_does_not_log_in(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_login_follows_next_to_the_requested_page(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD, "next": reverse("application_list")}
    )
    assert response["Location"] == reverse("application_list")


def test_the_dashboard_sends_anonymous_visitors_to_login(client, db):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_logout_is_a_post_and_ends_the_session(alice_client):
    assert alice_client.get(reverse("logout")).status_code == 405

    response = alice_client.post(reverse("logout"))

    assert response["Location"] == reverse("login")
    assert alice_client.get(reverse("dashboard")).status_code == 302
