"""`gdc report`: one self-contained HTML page, checked as a file and in a real headless browser
(Debian's chromium, which .ci/run installs): it loads without a console error, its math is laid
out as MathML, and its screenshot is not blank."""

from __future__ import annotations

import io
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest

from browser import Browser, find_browser
from gdc.cli import main
from gdc.errors import GdcError
from gdc.page import report_page
from locations import EXAMPLES

MODEL = EXAMPLES / "students_scaled.gd"
DATA = EXAMPLES / "students.csv"
MAP = {"x": "height", "Y": "weight"}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    assert main(["report", str(MODEL), str(DATA), "--map", "x=height,Y=weight", "-o", str(path)]) == 0
    return path


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_holds_every_part_and_needs_nothing_else(page):
    html = page.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(html)
    names = [tag for tag, _ in parser.tags]
    assert names.count("svg") == 2 and names.count("math") > 30 and "script" not in names
    for heading in ("The model", "The derivation", "The fit", "The learning-rate experiment"):
        assert f"<h2>{heading}</h2>" in html
    assert "let h = (x - 170)/10" in html and "standard error" in html
    # Nothing is fetched: no URL in a src or href, and the policy forbids any fetch.
    for tag, attrs in parser.tags:
        for key in ("src", "href"):
            assert not attrs.get(key, "").startswith(("http:", "https:", "//")), (tag, attrs)
    assert "default-src 'none'" in html
    assert not re.search(r"https?://(?!www\.w3\.org/)", html)   # MathML and SVG namespaces only


def test_the_experiment_rates_tell_the_story(page):
    html = page.read_text(encoding="utf-8")
    rows = re.findall(r'<tr><td class="num">([^<]+)</td><td>([^<]+)</td>', html)
    assert len(rows) == 4
    outcomes = [outcome for _, outcome in rows]
    assert outcomes[:3] == ["converged"] * 3 and outcomes[3].startswith("diverged")
    lam = float(re.search(r"λ<sub>max</sub> = ([0-9.e+-]+) is", html).group(1))
    # The least-squares Hessian of mean((m·h + b − Y)²) is 2·[[mean h², mean h], [mean h, 1]].
    h = (np.genfromtxt(DATA, delimiter=",", names=True)["height"] - 170) / 10
    hessian = 2 * np.array([[np.mean(h * h), np.mean(h)], [np.mean(h), 1.0]])
    assert lam == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-2)


def test_the_report_refuses_to_overwrite_its_data(tmp_path, capsys):
    data = tmp_path / "students.csv"
    shutil.copy(DATA, data)
    assert main(["report", str(MODEL), str(data), "--map", "x=height,Y=weight", "-o", str(data)]) == 1
    assert "refusing to overwrite the input file" in capsys.readouterr().err
    assert data.read_bytes() == DATA.read_bytes()


def test_given_rates_and_a_model_as_text():
    html = report_page("model y = m*(x - 170)/10 + b\nloss mean((y - Y)^2)\n", DATA, mapping=MAP,
                       rates=[0.1, 2.0], epochs=300)
    assert "<h1>gdc report: the model on students.csv</h1>" in html
    assert html.count("converged") >= 1 and "diverged (epoch" in html and "λ<sub>max</sub>" not in html
    with pytest.raises(GdcError):
        report_page(MODEL, DATA)   # no column is named like the model's data: the --map hint


@pytest.fixture(scope="module")
def chromium():
    path = find_browser()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    return path


def test_the_browser_harness_sees_console_errors(chromium, tmp_path):
    """The check below could fail: a page with a console error and a refused fetch is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('boom')</script>"
                   "<img src='file:///no/such/picture.png'></body></html>")
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(bad.as_uri())
        problems = browser.problems()
    assert any("boom" in p for p in problems) and any("picture.png" in p for p in problems), problems


def test_the_page_in_a_real_browser(chromium, page, tmp_path):
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        checks = browser.evaluate("""(() => {
            const maths = [...document.querySelectorAll('math')];
            const shown = maths.filter(m => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
            const fractions = [...document.querySelectorAll('mfrac')].filter(f => f.children.length == 2);
            const stacked = fractions.filter(f => f.children[0].getBoundingClientRect().bottom
                                                  <= f.children[1].getBoundingClientRect().top + 1);
            const svgs = [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect().width);
            return {maths: maths.length, mathml: maths.every(m => m instanceof MathMLElement),
                    shown: shown.length, fractions: fractions.length, stacked: stacked.length,
                    svgs: svgs, title: document.title, height: document.documentElement.scrollHeight};
        })()""")
        png = browser.screenshot()
        problems = browser.problems()
    assert problems == []
    assert checks["maths"] > 30 and checks["mathml"] and checks["shown"] == checks["maths"]
    # A fraction laid out by the browser's MathML engine has its numerator above its denominator.
    assert checks["fractions"] > 5 and checks["stacked"] == checks["fractions"]
    assert len(checks["svgs"]) == 2 and min(checks["svgs"]) > 500
    assert checks["title"] == "gdc report: students_scaled.gd on students.csv"
    from matplotlib.image import imread
    pixels = imread(io.BytesIO(png))[..., :3]
    assert pixels.shape[0] >= checks["height"] * 0.9 and pixels.shape[1] == 1200
    ink = np.any(pixels < 0.9, axis=-1).mean()
    colours = len(np.unique((pixels[::7, ::7] * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert 0.02 < ink < 0.6 and colours > 50    # text, math and pictures on a white page
