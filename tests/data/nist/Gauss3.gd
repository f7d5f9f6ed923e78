# NIST StRD Gauss3 (average difficulty): y = b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 ) + e
# certified values, data and both starts: Gauss3.json / Gauss3.csv
param b1 = 94.9, b2 = 0.009, b3 = 90.1, b4 = 113.0, b5 = 20.0, b6 = 73.8, b7 = 140.0, b8 = 20.0    # NIST start 1
# NIST start 2: b1 = 96.0, b2 = 0.0096, b3 = 80.0, b4 = 110.0, b5 = 25.0, b6 = 74.0, b7 = 139.0, b8 = 25.0
data x, y
model f = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)
loss sum((f - y)^2)
