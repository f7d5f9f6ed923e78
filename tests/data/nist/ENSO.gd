# NIST StRD ENSO (average difficulty): y = b1 + b2*cos( 2*pi*x/12 ) + b3*sin( 2*pi*x/12 ) + b5*cos( 2*pi*x/b4 ) + b6*sin( 2*pi*x/b4 ) + b8*cos( 2*pi*x/b7 ) + b9*sin( 2*pi*x/b7 ) + e
# certified values, data and both starts: ENSO.json / ENSO.csv
param b1 = 11.0, b2 = 3.0, b3 = 0.5, b4 = 40.0, b5 = -0.7, b6 = -1.3, b7 = 25.0, b8 = -0.3, b9 = 1.4    # NIST start 1
# NIST start 2: b1 = 10.0, b2 = 3.0, b3 = 0.5, b4 = 44.0, b5 = -1.5, b6 = 0.5, b7 = 26.0, b8 = -0.1, b9 = 1.5
data x, y
model f = (b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12)
          + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)
          + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7))
loss sum((f - y)^2)
