"""The operator page in a real browser: Debian's Chromium through
chromedriver, driven by Selenium. tests/operator.rs runs it against a live
`slate serve` and checks the files afterwards.

Environment: SLATE_URL, SLATE_TOKEN (an admin's), SLATE_TRAP (the trap
WASM plugin), SLATE_SHOT (where the screenshot goes). Prints one JSON
object with what it measured; any failed expectation raises.
"""

import json
import os
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["SLATE_URL"]
TOKEN = os.environ["SLATE_TOKEN"]


def api(method, path, body=None):
    """The HTTP API directly: what a test injects, not what the page does."""
    request = urllib.request.Request(
        URL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1600,1100",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def wait(driver, seconds, what, condition):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.2).until(lambda d: condition(d))
    except Exception as e:
        raise AssertionError(f"waited {seconds} s for {what}; the page logged {driver.get_log('browser')}") from e


def alerts(driver, kind, pipeline):
    selector = f'#alerts li.active[data-alert="{kind}"][data-pipeline="{pipeline}"]'
    return driver.find_elements(By.CSS_SELECTOR, selector)


def main():
    results = {}
    driver = browser()
    try:
        driver.get(URL + "/ui")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "login").click()
        wait(driver, 10, "the event stream", lambda d: d.find_element(By.ID, "connection").text == "live")

        # Start the demo from the page, long enough to do everything below.
        wait(driver, 10, "the shipped pipelines", lambda d: "demo" in d.find_element(By.ID, "shipped").text)
        Select(driver.find_element(By.ID, "shipped")).select_by_value("demo")
        driver.find_element(By.ID, "duration").send_keys("120s")
        driver.find_element(By.ID, "create").click()
        # The table is drawn afresh every second: read it in one script.
        demo = wait(driver, 20, "the demo playing", lambda d: d.execute_script(
            "const row = document.querySelector('#pipelines tr[data-state=\"playing\"]'); return row && row.dataset.id"))
        results["demo"] = demo

        # The preview plays: the video's clock advances by 3 s or more.
        video = driver.find_element(By.ID, "preview")
        first = wait(driver, 45, "the preview to start", lambda d: d.execute_script("return arguments[0].currentTime", video) > 0 and d.execute_script("return arguments[0].currentTime", video))
        last = wait(driver, 30, "the preview to advance 3 s", lambda d: (t := d.execute_script("return arguments[0].currentTime", video)) >= first + 3 and t)
        results["preview_advanced_s"] = last - first

        # The meters move: readings arrive and the levels change.
        meter = wait(driver, 10, "the audio meter of `mic`", lambda d: d.find_elements(By.CSS_SELECTOR, '.meter[data-element="mic"]'))[0]
        updates = int(meter.get_attribute("data-updates"))
        heights = set()
        deadline = time.time() + 3
        while time.time() < deadline:
            heights.add(driver.execute_script("return arguments[0].querySelector('.rms').style.height", meter))
            time.sleep(0.1)
        results["meter_updates_in_3s"] = int(meter.get_attribute("data-updates")) - updates
        results["meter_rms_db"] = meter.get_attribute("data-rms")
        assert results["meter_updates_in_3s"] >= 15, results
        assert any(h not in ("", "0%") for h in heights), heights

        # A frozen picture (a still in place of the moving bars): nothing
        # said before, an alert after.
        assert not alerts(driver, "frozen-picture", demo), "a frozen-picture alert before the picture froze"
        api("PUT", f"/v1/pipelines/{demo}/elements/camera/pattern", {"value": "gradient"})
        frozen_at = time.time()
        wait(driver, 15, "the frozen-picture alert", lambda d: alerts(d, "frozen-picture", demo))
        results["frozen_alert_after_s"] = round(time.time() - frozen_at, 2)

        # An automation script attached from the page, with a setting.
        wait(driver, 10, "the shipped scripts", lambda d: d.find_elements(By.CSS_SELECTOR, '#shipped-scripts option[value="watchdog"]'))
        Select(driver.find_element(By.ID, "shipped-scripts")).select_by_value("watchdog")
        driver.find_element(By.ID, "script-settings").send_keys("backoff_ms=200")
        driver.find_element(By.ID, "attach").click()
        wait(driver, 10, "the attached script", lambda d: d.find_elements(By.CSS_SELECTOR, "#scripts tr[data-script]"))
        wait(driver, 10, "the script's attached line", lambda d: "attached (watchdog)" in d.find_element(By.ID, "script-log").text)
        attached = api("GET", f"/v1/pipelines/{demo}/scripts")["scripts"]
        assert [(s["name"], s["settings"]["backoff_ms"]) for s in attached] == [("watchdog", 200)], attached

        # A WASM stage that faults, in a pipeline of its own.
        trap = api("POST", "/v1/pipelines", {
            "toml": f"""
[pipeline]
links = ["cam ! videoconvert ! video/x-raw,format=RGBA ! trap ! out"]
[source.cam]
element = "videotestsrc"
caps = "video/x-raw,width=64,height=64,framerate=30/1"
properties = {{ is-live = true }}
[stage.trap]
element = "wasmstage"
properties = {{ plugin = "{os.environ['SLATE_TRAP']}", on-error = "passthrough" }}
[sink.out]
element = "fakesink"
""",
            "start": True,
        })
        results["trap"] = trap["id"]
        wait(driver, 20, "the stage-fault alert", lambda d: alerts(d, "stage-fault", trap["id"]))

        driver.save_screenshot(os.environ["SLATE_SHOT"])

        # Stop from the page: the demo drains, its files are finalised.
        driver.execute_script(f"document.querySelector('#pipelines tr[data-id=\"{demo}\"]').click()")
        wait(driver, 5, "the demo selected", lambda d: d.execute_script(
            "return document.querySelector('#detail-title').textContent").startswith(demo + " "))
        # Detached from the page; the demo plays on.
        driver.find_element(By.CSS_SELECTOR, "#scripts tr[data-script] button").click()
        wait(driver, 10, "the script detached", lambda d: not d.find_elements(By.CSS_SELECTOR, "#scripts tr[data-script]"))
        assert api("GET", f"/v1/pipelines/{demo}")["state"] == "playing"
        driver.find_element(By.ID, "stop").click()
        wait(driver, 60, "the demo stopped", lambda d: d.find_elements(By.CSS_SELECTOR, f'#pipelines tr[data-id="{demo}"][data-state="stopped"]'))
        api("POST", f"/v1/pipelines/{trap['id']}/stop?wait=true")
        results["status"] = api("GET", f"/v1/pipelines/{demo}")
    finally:
        driver.quit()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
