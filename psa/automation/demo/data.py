"""The demo firm as data: people, legal entities, customers, projects, leads, rates, holidays.

Tables, not code: the seeding modules walk them.
"""

from __future__ import annotations

from decimal import Decimal

CONSULTANTS = [
    ("alice", "Alice", "Martin", "Senior consultant"),
    ("ben", "Ben", "Okafor", "Consultant"),
    ("chloe", "Chloé", "Dubois", "Consultant"),
    ("dev", "Dev", "Patel", "Senior consultant"),
    ("emma", "Emma", "Schmidt", "Analyst"),
    ("felix", "Felix", "Wagner", "Consultant"),
    ("grace", "Grace", "Kim", "Architect"),
    ("hugo", "Hugo", "Rossi", "Analyst"),
    ("ines", "Inès", "Moreau", "Consultant"),
    ("jack", "Jack", "Murphy", "Senior consultant"),
]


MANAGERS = [
    ("maria", "Maria", "Garcia"),
    ("noah", "Noah", "Fischer"),
    ("olivia", "Olivia", "Brown"),
]


ENTITIES = [
    {
        "code": "acme-uk",
        "name": "Acme Consulting UK",
        "legal_name": "Acme Consulting Ltd",
        "address": "12 Charlotte Street\nLondon W1T 2LS\nUnited Kingdom",
        "country": "GB",
        "tax_id": "GB123456789",
        "functional_currency": "GBP",
        "bank_details": "Barclays · Sort code 20-00-00 · Account 12345678",
    },
    {
        "code": "acme-de",
        "name": "Acme Consulting DE",
        "legal_name": "Acme Consulting GmbH",
        "address": "Torstraße 49\n10119 Berlin\nGermany",
        "country": "DE",
        "tax_id": "DE123456789",
        "functional_currency": "EUR",
        "bank_details": "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX",
    },
]


# name, entity, country, currency, terms, tax treatment, tax id
CUSTOMERS = [
    ("Northwind Traders", "acme-uk", "GB", "GBP", 30, "domestic", "GB987654321"),
    ("Brightwater Energy", "acme-uk", "GB", "GBP", 14, "domestic", "GB555666777"),
    ("Halcyon Health", "acme-uk", "IE", "EUR", 30, "reverse_charge", "IE6388047V"),
    ("Kestrel Logistics", "acme-uk", "US", "USD", 45, "exempt", ""),
    ("Müller Maschinenbau", "acme-de", "DE", "EUR", 30, "domestic", "DE811569869"),
    ("Lumen Retail", "acme-de", "DE", "EUR", 14, "domestic", "DE129273398"),
    ("Vega Finance", "acme-de", "NL", "EUR", 30, "reverse_charge", "NL859048824B01"),
    ("Orbit Media", "acme-de", "FR", "EUR", 30, "reverse_charge", "FR40303265045"),
]


# code, name, customer, billing model, budget hours, budget amount, manager, team (consultants)
PROJECTS = [
    ("NW-ERP", "ERP rollout", "Northwind Traders", "time_and_materials", 1200, 150000, "maria",
     ["alice", "ben", "grace"]),
    ("NW-SUP", "Support retainer", "Northwind Traders", "retainer", 600, 72000, "maria",
     ["ben"]),
    ("BW-GRID", "Grid analytics", "Brightwater Energy", "fixed_price", 900, 108000, "noah",
     ["dev", "emma"]),
    ("HH-PORTAL", "Patient portal", "Halcyon Health", "time_and_materials", 900, 108000,
     "maria", ["alice", "chloe", "hugo"]),
    ("KL-OPS", "Ops dashboard", "Kestrel Logistics", "subscription", None, None, "olivia",
     ["jack"]),
    ("MM-MES", "MES integration", "Müller Maschinenbau", "time_and_materials", 1500, 165000,
     "noah", ["felix", "ines", "grace"]),
    ("LR-SHOP", "Webshop relaunch", "Lumen Retail", "prepaid_fund", 1000, 110000, "olivia",
     ["chloe", "ines"]),
    ("VF-RISK", "Risk engine", "Vega Finance", "fixed_price", 1100, 143000, "noah",
     ["dev", "jack", "felix"]),
    ("OM-CMS", "CMS migration", "Orbit Media", "time_and_materials", 900, 99000, "olivia",
     ["hugo", "emma"]),
]  # fmt: skip


NOTES = [
    "Workshop with client stakeholders",
    "Implementation and unit tests",
    "Data migration scripts",
    "Code review and refactoring",
    "Status meeting and planning",
    "Integration testing",
    "Documentation",
    "Bug fixing from UAT",
]


WEEKS_OF_TIME = 12


# email, name, company, phone, website, status, message, disqualify reason
DEMO_LEADS = [
    ("priya@orbitalfoods.example", "Priya Shah", "Orbital Foods", "+44 20 7946 0101",
     "www.orbitalfoods.example", "new",
     "We are moving our analytics to the cloud and need an assessment in Q1.", ""),
    ("tom.becker@gmail.com", "Tom Becker", "", "", "", "new",
     "Do you do small Django projects? Budget around 5k.", ""),
    ("lena.park@northwind.example", "Lena Park", "Northwind Traders", "", "", "new",
     "Our logistics team would like a second phase of the forecasting work.", ""),
    ("marco@heliossolar.example", "Marco Bianchi", "Helios Solar", "+39 02 1234 5678",
     "https://heliossolar.example", "qualified",
     "Looking for a partner for a data platform discovery, then build.", ""),
    ("kim@halcyon.example", "Kim Byrne", "Halcyon Health", "", "", "converted",
     "Can you help with our patient-portal roadmap?", ""),
    ("jo.student@gmail.com", "Jo Student", "", "", "", "disqualified",
     "I am writing my thesis on PSA tools, could you fill in a survey?",
     "Student survey, not a sales enquiry"),
]  # fmt: skip


TASKS = [("Analysis", True), ("Build", True), ("Project management", True), ("Internal", False)]


FIRM_RATES = {"acme-uk": ("120", "GBP"), "acme-de": ("110", "EUR")}


# Project defaults by currency; seniors on a project earn a role rate on top.
PROJECT_RATES = {"GBP": "135", "EUR": "125", "USD": "150"}


SENIOR_PREMIUM = Decimal(30)


HOLIDAYS = {
    "acme-uk": [((12, 25), "Christmas Day"), ((12, 26), "Boxing Day"), ((1, 1), "New Year")],
    "acme-de": [((10, 3), "Tag der Deutschen Einheit"), ((12, 25), "1. Weihnachtstag"),
                ((12, 26), "2. Weihnachtstag"), ((1, 1), "Neujahr")],
}  # fmt: skip


REJECTIONS = [
    ("ben", 1, "Tuesday's hours belong on the support retainer, not the rollout."),
    ("hugo", 3, "Please add what you did: the customer asks for notes on every entry."),
]
