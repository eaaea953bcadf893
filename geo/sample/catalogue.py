"""The vocabulary the sample-data generator draws from: agencies, kinds of work, names.

Agencies are Seoul's real public bodies; every project, contractor, officer and phone number
made from this catalogue is invented, and stored with ``is_sample = true``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Work:
    """One kind of work: its title pattern (``{dong}`` is filled in), type and shape."""

    title: str
    project_type: str
    shape: str  # "line", "point" or "polygon"
    scope: str  # description pattern; {size} is the length in m or area in m²


@dataclass(frozen=True)
class Category:
    weight: float
    budget_million_krw: float  # median
    duration_days: float  # median
    size_m: tuple[float, float]  # segment length (lines) or side (polygons), min/max
    agencies: tuple[str, ...]  # agency codes; "GU" stands for the project's district office
    works: tuple[Work, ...]


def _w(title: str, project_type: str, shape: str, scope: str) -> Work:
    return Work(title, project_type, shape, scope)


CATEGORIES: dict[str, Category] = {
    "road": Category(
        0.20,
        1200,
        150,
        (60, 320),
        ("GU", "SMG-INFRA", "SMG-TRANSPORT"),
        (
            _w(
                "{dong} 일대 도로 포장 정비공사",
                "rehabilitation",
                "line",
                "노후 포장 {size} m 재포장",
            ),
            _w(
                "{dong} 보도 정비공사",
                "rehabilitation",
                "line",
                "보도블록 {size} m 교체 및 턱 낮춤",
            ),
            _w("{dong} 도로 확장공사", "expansion", "line", "도로 {size} m 구간 4차로 확장"),
            _w("{dong} 교차로 개선공사", "rehabilitation", "point", "교차로 구조 및 횡단보도 개선"),
        ),
    ),
    "water": Category(
        0.13,
        800,
        120,
        (60, 300),
        ("SMG-WATER",),
        (
            _w("{dong} 노후 상수도관 교체공사", "replacement", "line", "상수도관 {size} m 교체"),
            _w("{dong} 배수관 정비공사", "rehabilitation", "line", "배수관 {size} m 세척·갱생"),
            _w("{dong} 가압장 개량공사", "rehabilitation", "point", "가압장 펌프·전기설비 개량"),
        ),
    ),
    "sewer": Category(
        0.12,
        1500,
        200,
        (60, 300),
        ("GU", "SMG-WATERCYCLE"),
        (
            _w("{dong} 하수관로 정비공사", "rehabilitation", "line", "하수관로 {size} m 정비"),
            _w("{dong} 노후 하수관 교체공사", "replacement", "line", "노후 하수관 {size} m 교체"),
            _w("{dong} 빗물받이 정비공사", "rehabilitation", "point", "빗물받이 및 연결관 정비"),
        ),
    ),
    "gas": Category(
        0.06,
        300,
        60,
        (50, 250),
        ("GU",),
        (
            _w(
                "{dong} 도시가스 공급관 매설공사",
                "construction",
                "line",
                "가스 공급관 {size} m 매설",
            ),
            _w("{dong} 노후 가스관 교체공사", "replacement", "line", "노후 가스관 {size} m 교체"),
        ),
    ),
    "power": Category(
        0.06,
        900,
        120,
        (60, 300),
        ("KEPCO-SEOUL",),
        (
            _w("{dong} 전선 지중화 공사", "construction", "line", "가공 배전선 {size} m 지중화"),
            _w("{dong} 배전선로 정비공사", "rehabilitation", "line", "배전선로 {size} m 정비"),
        ),
    ),
    "telecom": Category(
        0.05,
        250,
        45,
        (50, 250),
        ("GU",),
        (
            _w("{dong} 통신관로 매설공사", "construction", "line", "통신관로 {size} m 매설"),
            _w("{dong} 광케이블 지중화 공사", "construction", "line", "광케이블 {size} m 지중화"),
        ),
    ),
    "rail": Category(
        0.02,
        30000,
        900,
        (300, 900),
        ("SMG-INFRA", "SEOUL-METRO"),
        (
            _w(
                "{dong} 도시철도 구간 개량공사", "rehabilitation", "line", "철도 {size} m 구간 개량"
            ),
            _w("{dong} 역사 승강기 설치공사", "construction", "point", "역사 승강기 2기 설치"),
        ),
    ),
    "transit": Category(
        0.05,
        2000,
        240,
        (150, 500),
        ("SMG-TRANSPORT",),
        (
            _w("{dong} 중앙버스전용차로 설치공사", "construction", "line", "버스전용차로 {size} m"),
            _w("{dong} 자전거도로 정비공사", "rehabilitation", "line", "자전거도로 {size} m 정비"),
            _w("{dong} 버스정류장 개선공사", "rehabilitation", "point", "정류장 쉘터 개선"),
        ),
    ),
    "building": Category(
        0.09,
        12000,
        700,
        (30, 110),
        ("GU", "SMG-URBANSPACE"),
        (
            _w("{dong} 주민센터 신축공사", "construction", "polygon", "연면적 {size} m² 신축"),
            _w("{dong} 공공도서관 건립공사", "construction", "polygon", "연면적 {size} m² 건립"),
            _w("{dong} 공영주차장 건립공사", "construction", "polygon", "부지 {size} m² 주차장"),
            _w("{dong} 복지관 리모델링", "rehabilitation", "point", "복지관 리모델링"),
        ),
    ),
    "school": Category(
        0.04,
        6000,
        400,
        (40, 120),
        ("SMOE",),
        (
            _w("{dong} 초등학교 증축공사", "expansion", "polygon", "교사동 {size} m² 증축"),
            _w("{dong} 중학교 내진보강공사", "rehabilitation", "point", "교사동 내진보강"),
        ),
    ),
    "park": Category(
        0.08,
        2500,
        300,
        (60, 260),
        ("GU", "SMG-PARKS"),
        (
            _w("{dong} 근린공원 조성공사", "construction", "polygon", "공원 {size} m² 조성"),
            _w(
                "{dong} 어린이공원 재조성공사", "rehabilitation", "polygon", "공원 {size} m² 재조성"
            ),
            _w("{dong} 가로수길 녹화사업", "rehabilitation", "line", "가로수길 {size} m 녹화"),
        ),
    ),
    "river": Category(
        0.04,
        5000,
        500,
        (200, 700),
        ("SMG-WATERCYCLE", "GU"),
        (
            _w("{dong} 소하천 정비공사", "rehabilitation", "line", "하천 {size} m 정비"),
            _w("{dong} 빗물펌프장 증설공사", "expansion", "point", "펌프 용량 증설"),
        ),
    ),
    "housing": Category(
        0.04,
        40000,
        1000,
        (70, 200),
        ("SH",),
        (
            _w(
                "{dong} 공공임대주택 건설공사", "construction", "polygon", "부지 {size} m² 공공임대"
            ),
            _w("{dong} 청년주택 신축공사", "construction", "polygon", "부지 {size} m² 청년주택"),
        ),
    ),
}

# Street works whose trenches a planner would want to coordinate (dig once).
TRENCH_CATEGORIES = ("road", "water", "sewer", "gas", "power", "telecom")

# code: (Korean name, English name, switchboard)
CITY_AGENCIES: dict[str, tuple[str, str, str]] = {
    "SMG-INFRA": ("서울특별시 도시기반시설본부", "Seoul Infrastructure Headquarters", "02-120"),
    "SMG-WATER": ("서울특별시 상수도사업본부", "Seoul Waterworks Headquarters", "02-120"),
    "SMG-WATERCYCLE": (
        "서울특별시 물순환안전국",
        "Seoul Water Circulation Safety Bureau",
        "02-120",
    ),
    "SMG-TRANSPORT": ("서울특별시 도시교통실", "Seoul Urban Transportation Office", "02-120"),
    "SMG-PARKS": ("서울특별시 푸른도시여가국", "Seoul Parks and Leisure Bureau", "02-120"),
    "SMG-URBANSPACE": ("서울특별시 도시공간본부", "Seoul Urban Space Headquarters", "02-120"),
    "SMOE": ("서울특별시교육청", "Seoul Metropolitan Office of Education", "02-1396"),
    "SH": ("서울주택도시개발공사", "Seoul Housing & Communities Corporation", "1600-3456"),
    "SEOUL-METRO": ("서울교통공사", "Seoul Metro", "1577-1234"),
    "KEPCO-SEOUL": ("한국전력공사 서울본부", "KEPCO Seoul Regional Headquarters", "123"),
}


def district_office_code(district_code: str) -> str:
    return f"GU-{district_code}"


CONTRACTOR_STEMS = (
    "한빛",
    "새솔",
    "누리",
    "다온",
    "미르",
    "가람",
    "아라",
    "해오름",
    "온누리",
    "청솔",
    "늘푸른",
    "한결",
    "바른",
    "이음",
    "다솜",
    "한울",
    "서하",
    "도담",
    "라온",
    "솔빛",
)
CONTRACTOR_SUFFIXES = ("건설", "종합건설", "토건", "산업개발", "이엔씨", "건설산업")
SUPERVISOR_SUFFIXES = ("엔지니어링", "기술단", "건축사사무소", "기술공사")
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN_SYLLABLES = "민서지현준우도윤하은수영재성진혜경태연주희동훈상"
