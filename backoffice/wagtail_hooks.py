from wagtail import hooks


@hooks.register("construct_main_menu")
def hide_page_tools(request, menu_items):
    """This back-office has no Wagtail pages: hide the page explorer and the page reports."""
    menu_items[:] = [item for item in menu_items if item.name not in {"explorer", "reports"}]
