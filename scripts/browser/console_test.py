#!/usr/bin/env python3
"""Browser tests of the web console (/ui) in headless Chromium driven by Selenium.

Run by scripts/browser_test.sh against two running workers that share one embedded node and an
API token; not meant to be started by hand without them (see that script's usage).

Each test prints PASS or FAIL with the reason; the exit status is the number of failed tests.
A screenshot of every page visited is saved in --artifacts.
"""
import argparse
import json
import os
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    SELENIUM_MISSING = None
except ImportError as missing:  # --help needs no selenium; a run says what is missing
    SELENIUM_MISSING = missing

XSS = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.__xss=1</script>"


class Console:
    def __init__(self, args):
        self.url = args.url.rstrip("/")
        self.token = args.token
        self.artifacts = args.artifacts
        self.stop_pid = args.stop_pid
        self.worker_b = args.worker_b
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)

    # Helpers

    def go(self, path):
        self.driver.get(self.url + path)

    def wait(self, condition, seconds=15, message=""):
        return WebDriverWait(self.driver, seconds, poll_frequency=0.2).until(condition, message)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        """The element's visible text, read in one script call (the live region may swap it at any time)."""
        return self.driver.execute_script(
            "var e = document.querySelector(arguments[0]); return e ? e.innerText : null", css) or ""

    def shot(self, name, width=1280):
        """A screenshot of the whole page at `width` CSS pixels."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})
        time.sleep(0.4)
        height = self.driver.execute_script("return Math.min(Math.max(document.documentElement.scrollHeight, 600), 4000)")
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
        time.sleep(0.4)
        self.driver.save_screenshot(os.path.join(self.artifacts, name + ".png"))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def confirm(self):
        alert = self.wait(EC.alert_is_present(), 5, "no confirmation dialog")
        alert.accept()

    def badge(self):
        return self.text("#live dl.fields dd .badge")

    def click(self, ident):
        """Clicks the element with this id; the live region may swap it between finding and clicking."""
        for _ in range(5):
            try:
                self.wait(EC.element_to_be_clickable((By.ID, ident)), 10, f"no #{ident}").click()
                return
            except StaleElementReferenceException:
                continue
        raise AssertionError(f"#{ident} kept being replaced")

    def click_action(self, name):
        self.click("action-" + name)
        self.confirm()

    def wait_status(self, status, seconds=30):
        self.wait(lambda d: self.badge() == status.replace("_", " "), seconds,
                  f"job did not reach {status} (shows {self.badge()!r})")

    def job_id(self):
        return self.driver.current_url.split("/ui/jobs/")[1][:36]

    def fill(self, values):
        for name, value in values.items():
            field = self.find(f"#field-{name}")
            if field.tag_name == "select":
                Select(field).select_by_visible_text(value)
            elif field.get_attribute("type") == "checkbox":
                if field.is_selected() != bool(value):
                    field.click()
            else:
                field.clear()
                field.send_keys(value)

    def create(self, values):
        self.go("/ui/jobs/new")
        self.fill({"run": False, "idempotency_key": "", "timezone": "", **values})
        self.find("#submit").click()
        self.wait(EC.url_contains("notice=created"), 15, "the job was not created")
        return self.job_id()

    def mark_page(self):
        """Sets a marker a reload would erase."""
        self.driver.execute_script("window.__noReload = 42")

    def not_reloaded(self):
        return self.driver.execute_script("return window.__noReload") == 42

    def api(self, path, method="GET"):
        request = urllib.request.Request(self.url + path, method=method, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    # Tests, in order (the first signs in, the last signs out)

    def test_sign_in(self):
        self.go("/ui/jobs")
        self.wait(EC.url_contains("/ui/signin"), 10, "not sent to the sign-in page")
        assert "token" not in self.driver.current_url.split("/ui/signin")[1], "token in the URL"
        self.find("#field-token").send_keys("not-the-token")
        self.find("#submit").click()
        self.wait(EC.presence_of_element_located((By.ID, "token-error")), 10, "no error for a wrong token")
        self.shot("signin-error")
        self.find("#field-token").send_keys(self.token)
        self.find("#submit").click()
        self.wait(EC.url_contains("/ui/jobs"), 10, "not signed in")
        assert self.token not in self.driver.current_url, "token in the URL"
        cookies = {c["name"]: c for c in self.driver.get_cookies()}
        cookie = cookies.get("scheduler_token")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", f"token cookie {cookie}"
        assert self.driver.execute_script("return document.cookie") == "", "a cookie is readable by scripts"

    def test_create_with_field_error_then_find_and_watch_succeed(self):
        self.go("/ui/jobs/new")
        self.shot("create-form")
        self.fill({"kind": "sleep", "schedule": "now", "payload": '{"seconds": 1.5}', "max_duration_seconds": "0", "run": True})
        self.find("#submit").click()
        error = self.wait(EC.visibility_of_element_located((By.ID, "field-max_duration_seconds-error")), 10,
                          "no error next to max_duration_seconds")
        assert "max_duration_seconds" in error.text, error.text
        assert self.find("#field-max_duration_seconds").get_attribute("aria-invalid") == "true"
        self.shot("create-form-error")
        self.fill({"max_duration_seconds": "30"})
        self.find("#submit").click()
        self.wait(EC.url_contains("notice=created"), 15, "the job was not created")
        job = self.job_id()

        self.go("/ui/jobs")
        self.find("#filter-q").send_keys(job)
        self.find("#filter-q").submit()
        link = self.wait(EC.element_to_be_clickable((By.ID, "job-" + job)), 10, "the job is not in the list")
        link.click()
        self.wait(EC.url_contains("/ui/jobs/" + job), 10, "the job page did not open")
        self.mark_page()
        self.wait_status("succeeded", 40)
        assert self.not_reloaded(), "the page was reloaded"
        self.wait(lambda d: "succeeded" in self.text("#history"), 10, "the run is not in the history")
        self.shot("job-succeeded")
        self.shot("job-succeeded-375", width=375)

    def test_cancel_running_sleep(self):
        job = self.create({"kind": "sleep", "schedule": "now", "payload": '{"seconds": 120}', "max_duration_seconds": "300",
                           "run": True})
        self.mark_page()
        self.wait_status("running", 40)
        self.shot("job-running")
        self.click_action("cancel")
        self.wait_status("cancelled", 15)
        self.shot("job-cancelled")
        assert self.api(f"/jobs/{job}")["status"] == "cancelled"

    def test_refused_action_shows_api_error(self):
        # The edit form does not refresh itself: the job is cancelled behind its back, and the save is refused.
        job = self.create({"kind": "noop", "schedule": "@every 1h", "payload": "{}", "max_duration_seconds": "10", "run": True})
        self.click("action-edit")
        self.wait(EC.url_contains("/edit"), 10, "the edit form did not open")
        self.api(f"/jobs/{job}", method="DELETE")
        self.fill({"max_attempts": "7"})
        self.find("#submit").click()
        error = self.wait(EC.visibility_of_element_located((By.ID, "error")), 10, "no error shown")
        assert error.text.startswith("Edit refused: job is cancelled"), error.text
        self.shot("job-refused")

    def test_pause_and_resume_recurring(self):
        self.create({"kind": "noop", "schedule": "@every 1h", "payload": "{}", "max_duration_seconds": "10", "run": True})
        self.wait_status("queued", 10)
        self.click_action("pause")
        self.wait_status("paused", 10)
        self.shot("job-paused")
        self.click_action("resume")
        self.wait_status("queued", 10)

    def test_edit_then_delete(self):
        job = self.create({"kind": "noop", "schedule": "@every 1h", "payload": "{}", "max_duration_seconds": "10"})
        self.click("action-edit")
        self.wait(EC.url_contains("/edit"), 10, "the edit form did not open")
        self.fill({"schedule": "every hour"})
        self.find("#submit").click()
        error = self.wait(EC.visibility_of_element_located((By.ID, "field-schedule-error")), 10, "no error next to schedule")
        assert error.text.startswith("schedule:"), error.text
        self.shot("edit-form-error")
        self.fill({"schedule": "*/5 * * * *", "timezone": "Europe/Paris", "max_attempts": "5"})
        self.find("#submit").click()
        self.wait(EC.url_contains("notice=edit"), 10, "the change was not saved")
        changed = self.api(f"/jobs/{job}")
        assert (changed["schedule"], changed["timezone"], changed["max_attempts"]) == ("*/5 * * * *", "Europe/Paris", 5), changed
        self.click_action("cancel")
        self.wait_status("cancelled", 10)
        self.click_action("delete")
        self.wait(EC.url_contains("notice=delete"), 10, "the job was not deleted")
        try:
            self.api(f"/jobs/{job}")
            raise AssertionError("the deleted job is still there")
        except urllib.error.HTTPError as error:
            assert error.code == 404, error.code

    def test_xss_payload_is_text(self):
        key = XSS + XSS_SCRIPT + str(time.time())
        job = self.create({"kind": "echo", "schedule": "now", "payload": json.dumps({"html": XSS, "script": XSS_SCRIPT}),
                           "max_duration_seconds": "10", "idempotency_key": key, "run": True})
        self.driver.refresh()
        self.wait_status("succeeded", 30)  # the echo output (the payload again) is in the history
        time.sleep(2.5)  # two more live refreshes swap the region in with the same values
        assert XSS in self.text("#payload") and XSS_SCRIPT in self.text("#payload"), self.text("#payload")
        assert key in self.text("#live"), "the idempotency key is not shown as text"
        assert not self.driver.find_elements(By.CSS_SELECTOR, "main img"), "the payload became an element"
        assert self.driver.execute_script("return window.__xss") is None, "the payload's script ran"
        try:
            self.driver.switch_to.alert
            raise AssertionError("an alert opened")
        except NoAlertPresentException:
            pass
        self.shot("job-xss")
        self.go("/ui/jobs")
        self.find("#filter-q").send_keys(key)
        self.find("#filter-q").submit()
        self.wait(EC.presence_of_element_located((By.ID, "job-" + job)), 10, "search by idempotency key did not find the job")
        assert not self.driver.find_elements(By.CSS_SELECTOR, "main img")
        assert self.driver.execute_script("return window.__xss") is None

    def test_jobs_list_keeps_filters_while_live(self):
        self.go("/ui/jobs?status=cancelled")
        self.mark_page()
        time.sleep(2.5)
        assert Select(self.find("#filter-status")).first_selected_option.get_attribute("value") == "cancelled"
        assert "updated" in self.text("#live-status"), self.text("#live-status")
        assert self.not_reloaded()
        self.go("/ui/jobs")
        time.sleep(1.2)
        self.shot("jobs-list")
        self.shot("jobs-list-375", width=375)
        # At 375 px by 400 px the list scrolls: a scrolled position survives the live refreshes.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 400, "deviceScaleFactor": 1, "mobile": True})
        try:
            time.sleep(0.5)
            overflow = self.driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not overflow, "the page is wider than 375 px"
            self.driver.execute_script("window.scrollTo(0, 300)")
            scrolled = self.driver.execute_script("return window.scrollY")
            assert scrolled > 0, "the list does not scroll at 375x400"
            time.sleep(2.5)
            assert self.driver.execute_script("return window.scrollY") == scrolled, "the refresh moved the scroll position"
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def test_keyboard_and_labels(self):
        self.go("/ui/jobs/new")
        for control in self.driver.find_elements(By.CSS_SELECTOR, "main input:not([type=hidden]), main select, main textarea"):
            ident = control.get_attribute("id")
            assert ident and self.driver.find_elements(By.CSS_SELECTOR, f"label[for='{ident}']"), f"no label for {ident}"
        body = self.find("body")
        body.send_keys("\t")
        first = self.driver.switch_to.active_element
        assert first.get_attribute("class") == "skip", "the first Tab stop is not the skip link"

    def test_cluster_split_changes_when_a_worker_stops(self):
        self.go("/ui/cluster")

        def workers():
            return self.driver.execute_script(
                "var rows = document.querySelectorAll('#workers tbody tr[data-worker]'), seen = {};"
                "rows.forEach(function (r) { seen[r.getAttribute('data-worker')] = r.querySelector('.shards').innerText; });"
                "return seen;")

        self.wait(lambda d: len(workers()) == 2 and all(workers().values()), 60,
                  f"two workers with shards not shown: {workers()}")
        before = workers()
        self.shot("cluster-two-workers")
        self.mark_page()
        os.kill(self.stop_pid, signal.SIGTERM)
        self.wait(lambda d: list(workers()) == [w for w in before if w != self.worker_b] and
                  len(next(iter(workers().values()), "").split(",")) == 8, 90,
                  f"the split did not change: {workers()}")
        assert self.not_reloaded(), "the page was reloaded"
        self.shot("cluster-one-worker")
        self.shot("cluster-375", width=375)

    def test_sign_out(self):
        self.go("/ui/jobs")
        self.find("header button[type=submit]").click()
        self.wait(EC.url_contains("/ui/signin"), 10, "not signed out")
        self.go("/ui/cluster")
        self.wait(EC.url_contains("/ui/signin"), 10, "pages still open after sign-out")
        self.shot("signed-out")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--stop-pid", type=int, required=True, help="the second worker, stopped by the cluster test")
    parser.add_argument("--worker-b", required=True, help="the second worker's id")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--only", help="run only the tests whose name contains this")
    args = parser.parse_args()
    if SELENIUM_MISSING is not None:
        parser.error(f"selenium is not installed (pip install selenium): {SELENIUM_MISSING}")
    os.makedirs(args.artifacts, exist_ok=True)
    console = Console(args)
    failed = 0
    try:
        tests = [name for name in Console.__dict__ if name.startswith("test_")]
        if args.only:
            tests = ["test_sign_in"] + [t for t in tests if args.only in t and t != "test_sign_in"]
        for name in tests:
            started = time.monotonic()
            try:
                getattr(console, name)()
                print(f"PASS {name} ({time.monotonic() - started:.1f}s)", flush=True)
            except Exception as error:  # noqa: BLE001 - every failure is reported and counted
                failed += 1
                print(f"FAIL {name}: {error}", flush=True)
                traceback.print_exc()
                try:
                    console.driver.save_screenshot(os.path.join(args.artifacts, f"FAILED-{name}.png"))
                except Exception:  # noqa: BLE001
                    pass
        severe = [e for e in console.driver.get_log("browser") if e["level"] == "SEVERE"]
        for entry in severe:
            print("browser console:", entry["message"], flush=True)
    finally:
        console.driver.quit()
    print(f"{failed} failed", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
