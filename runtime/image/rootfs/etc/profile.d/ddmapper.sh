# ddsetup finds the appliance's control socket in its home
export DDMAPPER_HOME=/var/lib/ddmapper
PATH=$PATH:/opt/ddmapper/bin
